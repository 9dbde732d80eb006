-- Parts of concatenated messages as partners send them over SMPP: each part is a message of its
-- own, sent as one segment with the partner's concatenation header (reference, count, number).
-- Nullable, no default: adding them rewrites nothing.
-- AlterTable
ALTER TABLE "message" ADD COLUMN     "concat_ref" INTEGER,
ADD COLUMN     "concat_seq" SMALLINT,
ADD COLUMN     "concat_total" SMALLINT;
