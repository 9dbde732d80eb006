-- The connector journals every MO before it answers the SMSC and stores it from the journal; an
-- entry applied just before a crash is applied again at the next start. The journal's entry id
-- makes that second insert a no-op.
ALTER TABLE "mo_message" ADD COLUMN "inbound_key" TEXT;
CREATE UNIQUE INDEX "mo_message_inbound_key_key" ON "mo_message"("inbound_key");
