-- CreateIndex
CREATE INDEX "message_valid_until_idx" ON "message"("valid_until") WHERE ("status" = 0);
