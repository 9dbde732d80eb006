-- CreateIndex
CREATE INDEX "message_partner_id_msisdn_created_at_idx" ON "message"("partner_id", "msisdn", "created_at");
