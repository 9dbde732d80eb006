-- CreateEnum
CREATE TYPE "callback_kind" AS ENUM ('dlr', 'mo');

-- CreateEnum
CREATE TYPE "callback_state" AS ENUM ('pending', 'delivered', 'parked');

-- AlterTable
ALTER TABLE "partner" ADD COLUMN     "callback_concurrency" INTEGER;

-- CreateTable
CREATE TABLE "callback" (
    "id" BIGSERIAL NOT NULL,
    "kind" "callback_kind" NOT NULL,
    "partner_id" INTEGER NOT NULL,
    "message_id" BIGINT,
    "status" SMALLINT,
    "mo_id" BIGINT,
    "state" "callback_state" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "due_at" TIMESTAMPTZ(3) NOT NULL,
    "last_attempt_at" TIMESTAMPTZ(3),
    "next_attempt_at" TIMESTAMPTZ(3),
    "last_result" TEXT,
    "delivered_at" TIMESTAMPTZ(3),
    "parked_at" TIMESTAMPTZ(3),
    "resends" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "callback_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "callback_attempt" (
    "id" BIGSERIAL NOT NULL,
    "kind" "callback_kind" NOT NULL,
    "partner_id" INTEGER NOT NULL,
    "message_id" BIGINT,
    "status" SMALLINT,
    "mo_id" BIGINT,
    "attempt" INTEGER NOT NULL,
    "attempted_at" TIMESTAMPTZ(3) NOT NULL,
    "url" TEXT NOT NULL,
    "http_status" SMALLINT,
    "error" TEXT,
    "duration_ms" INTEGER NOT NULL,

    CONSTRAINT "callback_attempt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "callback_partner_id_parked_at_idx" ON "callback"("partner_id", "parked_at") WHERE (state = 'parked');

-- CreateIndex
CREATE INDEX "callback_next_attempt_at_idx" ON "callback"("next_attempt_at") WHERE (state = 'pending');

-- CreateIndex
CREATE UNIQUE INDEX "callback_message_id_status_key" ON "callback"("message_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "callback_mo_id_key" ON "callback"("mo_id");

-- CreateIndex
CREATE INDEX "callback_attempt_message_id_idx" ON "callback_attempt"("message_id") WHERE (message_id IS NOT NULL);

-- CreateIndex
CREATE INDEX "callback_attempt_mo_id_idx" ON "callback_attempt"("mo_id") WHERE (mo_id IS NOT NULL);

-- CreateIndex
CREATE INDEX "callback_attempt_partner_id_attempted_at_idx" ON "callback_attempt"("partner_id", "attempted_at");

-- CreateIndex
CREATE INDEX "mo_message_partner_id_received_at_id_idx" ON "mo_message"("partner_id", "received_at", "id") WHERE (callback_done_at IS NULL);
