-- What a parked receipt says about its message (subscriber, sender, submit date, text excerpt),
-- so that the connector can match it by content when no segment has its SMSC id: the connector
-- died between a submit_sm and recording the answer. The partial index holds only the receipts
-- still to look at; once looked at in vain they leave it (content_checked_at).
-- AlterTable
ALTER TABLE "unmatched_receipt" ADD COLUMN     "content_checked_at" TIMESTAMPTZ(3),
ADD COLUMN     "msisdn" TEXT,
ADD COLUMN     "sender" TEXT,
ADD COLUMN     "submit_date" TIMESTAMPTZ(3),
ADD COLUMN     "text" TEXT;

-- CreateIndex
CREATE INDEX "unmatched_receipt_received_at_idx" ON "unmatched_receipt"("received_at") WHERE (msisdn IS NOT NULL AND content_checked_at IS NULL);
