-- CreateEnum
CREATE TYPE "mo_order" AS ENUM ('partner', 'subscriber');

-- AlterTable
ALTER TABLE "partner" ADD COLUMN     "mo_order" "mo_order" NOT NULL DEFAULT 'partner';

-- CreateIndex
CREATE INDEX "mo_message_partner_id_msisdn_received_at_id_idx" ON "mo_message"("partner_id", "msisdn", "received_at", "id") WHERE (callback_done_at IS NULL);
