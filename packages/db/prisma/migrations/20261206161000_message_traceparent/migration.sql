-- The W3C traceparent of a traced message (tracing on and the message sampled): the connector's
-- receipt matching and the scheduler's release find the message by its row and continue its
-- trace from it. Nullable without a default: PostgreSQL adds the column without rewriting the table.
-- AlterTable
ALTER TABLE "message" ADD COLUMN     "traceparent" TEXT;
