-- Which reports a partner asked for in a submit_sm's registered_delivery (null for HTTP: all).
-- Nullable, no default: adding it rewrites nothing.
-- AlterTable
ALTER TABLE "message" ADD COLUMN     "registered_delivery" SMALLINT;
