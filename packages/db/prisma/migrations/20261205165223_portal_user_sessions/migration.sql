-- AlterTable
ALTER TABLE "app_user" ADD COLUMN     "blocked_at" TIMESTAMPTZ(3),
ADD COLUMN     "session_version" INTEGER NOT NULL DEFAULT 0;
