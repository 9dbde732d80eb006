-- 8-bit data submitted over SMPP whose text (hex) starts with the partner's own User Data Header:
-- the connector sends it as it is, with esm_class UDHI. A constant default: PostgreSQL 11+ adds
-- the column without rewriting the table.
-- AlterTable
ALTER TABLE "message" ADD COLUMN     "udhi" BOOLEAN NOT NULL DEFAULT false;

