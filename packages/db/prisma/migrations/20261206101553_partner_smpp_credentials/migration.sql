-- A partner's SMPP credentials, for the coming SMPP server: its own bind password (SMPP 3.4 allows
-- at most 8 characters), hashed as the API password is; null refuses every bind. And how many
-- binds it may hold at once; null takes the server's default. The CHECK is added by hand: the
-- schema cannot express it.
-- AlterTable
ALTER TABLE "partner" ADD COLUMN     "smpp_max_binds" INTEGER,
ADD COLUMN     "smpp_password_hash" TEXT;

-- AddCheckConstraint (by hand)
ALTER TABLE "partner" ADD CONSTRAINT "partner_smpp_max_binds_check" CHECK ("smpp_max_binds" > 0);
