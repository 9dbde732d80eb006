-- callback_attempt partitioned by day of attempted_at (UTC), so that the attempts older than their
-- retention (the scheduler's `partitions` task, RETENTION_CALLBACK_ATTEMPTS_DAYS) go as whole
-- partitions dropped, never as a DELETE of millions of rows. The key becomes (id, attempted_at):
-- a partitioned table's unique keys hold the partition key; id stays unique by its sequence.
--
-- The rows already there are not copied: the table becomes the partition
-- `callback_attempt_before`, for everything attempted before tomorrow (UTC), which the scheduler
-- drops once that is older than the retention. Attaching it reads it once to check the bound.
-- Daily partitions follow from tomorrow for 14 days; the scheduler keeps creating them ahead.

ALTER TABLE "callback_attempt" RENAME TO "callback_attempt_before";
ALTER TABLE "callback_attempt_before" RENAME CONSTRAINT "callback_attempt_pkey" TO "callback_attempt_before_pkey";
ALTER INDEX "callback_attempt_message_id_idx" RENAME TO "callback_attempt_before_message_id_idx";
ALTER INDEX "callback_attempt_mo_id_idx" RENAME TO "callback_attempt_before_mo_id_idx";
ALTER INDEX "callback_attempt_partner_id_attempted_at_idx" RENAME TO "callback_attempt_before_partner_id_attempted_at_idx";

CREATE TABLE "callback_attempt" (
    "id" BIGINT NOT NULL DEFAULT nextval('callback_attempt_id_seq'),
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

    CONSTRAINT "callback_attempt_pkey" PRIMARY KEY ("id", "attempted_at")
) PARTITION BY RANGE ("attempted_at");

ALTER TABLE "callback_attempt_before" ALTER COLUMN "id" DROP DEFAULT;
ALTER SEQUENCE "callback_attempt_id_seq" OWNED BY "callback_attempt"."id";

CREATE INDEX "callback_attempt_message_id_idx" ON "callback_attempt"("message_id") WHERE (message_id IS NOT NULL);
CREATE INDEX "callback_attempt_mo_id_idx" ON "callback_attempt"("mo_id") WHERE (mo_id IS NOT NULL);
CREATE INDEX "callback_attempt_partner_id_attempted_at_idx" ON "callback_attempt"("partner_id", "attempted_at");

-- The partition's key becomes the parent's; its other indexes are taken as they are (same definitions).
CREATE UNIQUE INDEX "callback_attempt_before_id_attempted_at_key" ON "callback_attempt_before"("id", "attempted_at");
ALTER TABLE "callback_attempt_before" DROP CONSTRAINT "callback_attempt_before_pkey";
ALTER TABLE "callback_attempt_before" ADD CONSTRAINT "callback_attempt_before_pkey" PRIMARY KEY USING INDEX "callback_attempt_before_id_attempted_at_key";

DO $$
DECLARE
  today date := (now() AT TIME ZONE 'UTC')::date;
  d date;
BEGIN
  EXECUTE format('ALTER TABLE "callback_attempt" ATTACH PARTITION "callback_attempt_before" FOR VALUES FROM (MINVALUE) TO (%L)',
                 ((today + 1)::timestamp AT TIME ZONE 'UTC'));
  FOR d IN SELECT generate_series(today + 1, today + 14, interval '1 day')::date LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF "callback_attempt" FOR VALUES FROM (%L) TO (%L)',
                   'callback_attempt_p' || to_char(d, 'YYYYMMDD'),
                   (d::timestamp AT TIME ZONE 'UTC'), ((d + 1)::timestamp AT TIME ZONE 'UTC'));
  END LOOP;
END $$;
