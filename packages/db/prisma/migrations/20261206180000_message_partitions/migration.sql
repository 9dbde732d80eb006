-- message and message_part partitioned by RANGE of the message id, one partition per 7 days (UTC),
-- so that the messages older than their retention (the scheduler's `partitions` task,
-- RETENTION_MESSAGES_DAYS) go as whole partitions dropped, never as a DELETE of millions of rows,
-- and so that a lookup bounded in time reads the partitions of that time only.
--
-- Message ids carry the UTC hour they were drawn in (MessageIdAllocator, @smsgw/db):
--   id = hour since 1970 * 2^30 + (block mod 2^20) * 1024 + 0..1023
-- so the partition of the week starting at day D holds the ids from (D in hours) * 2^30 up to the
-- next week's. A block of ids is used only within its hour.
--
-- A partitioned table's unique keys hold the partition key: the unique key on
-- (partner_id, partner_msg_id) moves to message_key, claimed by the intake in the statement that
-- stores the message, and deleted with the partition its message was in.
--
-- The rows already there are not copied: the tables become the partitions `message_before` and
-- `message_part_before`, for every id below this week's first; the scheduler drops them once
-- their messages are older than the retention. Attaching reads each once to check the bound.
-- Weekly partitions follow for this week and 3 more; the scheduler keeps creating them ahead.

ALTER TABLE "message" RENAME TO "message_before";
ALTER TABLE "message_before" RENAME CONSTRAINT "message_pkey" TO "message_before_pkey";
ALTER INDEX "message_partner_id_created_at_idx" RENAME TO "message_before_partner_id_created_at_idx";
ALTER INDEX "message_partner_id_msisdn_created_at_idx" RENAME TO "message_before_partner_id_msisdn_created_at_idx";
ALTER INDEX "message_release_at_id_idx" RENAME TO "message_before_release_at_id_idx";
-- In-flight messages are paged by (valid_until, id): with the id in the index, each partition gives
-- its rows in that order and a page reads only what it returns (built for message_before on ATTACH).
DROP INDEX "message_valid_until_idx";
DROP TRIGGER "message_stat_insert" ON "message_before";
DROP TRIGGER "message_stat_update" ON "message_before";

ALTER TABLE "message_part" RENAME TO "message_part_before";
ALTER TABLE "message_part_before" RENAME CONSTRAINT "message_part_pkey" TO "message_part_before_pkey";
-- Receipts are matched by SMSC id within a range of message ids (the newest partitions): with the
-- message id in the index, the range is part of the one index descent (built for
-- message_part_before on ATTACH).
DROP INDEX "message_part_smsc_message_id_idx";

CREATE TABLE "message_key" (
    "partner_id" INTEGER NOT NULL,
    "partner_msg_id" TEXT NOT NULL,
    "message_id" BIGINT NOT NULL,

    CONSTRAINT "message_key_pkey" PRIMARY KEY ("partner_id","partner_msg_id")
);
CREATE INDEX "message_key_message_id_idx" ON "message_key" USING BRIN ("message_id");

INSERT INTO "message_key" ("partner_id", "partner_msg_id", "message_id")
SELECT "partner_id", "partner_msg_id", "id" FROM "message_before" WHERE "partner_msg_id" IS NOT NULL ORDER BY "id";
DROP INDEX "message_partner_id_partner_msg_id_key";

CREATE TABLE "message" (
    "id" BIGINT NOT NULL,
    "partner_id" INTEGER NOT NULL,
    "partner_msg_id" TEXT,
    "ptag" TEXT,
    "sender" TEXT NOT NULL,
    "msisdn" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "encoding" SMALLINT NOT NULL,
    "segments" SMALLINT NOT NULL,
    "flash" BOOLEAN NOT NULL DEFAULT false,
    "priority" SMALLINT NOT NULL DEFAULT 1,
    "status" SMALLINT NOT NULL DEFAULT 1,
    "ext_status" SMALLINT,
    "test" BOOLEAN NOT NULL DEFAULT false,
    "release_at" TIMESTAMPTZ(3),
    "window_start" SMALLINT,
    "window_end" SMALLINT,
    "window_zone" TEXT,
    "valid_until" TIMESTAMPTZ(3) NOT NULL,
    "smsc_connection_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "submitted_at" TIMESTAMPTZ(3),
    "done_at" TIMESTAMPTZ(3),
    "released_at" TIMESTAMPTZ(3),
    "concat_ref" INTEGER,
    "concat_total" SMALLINT,
    "concat_seq" SMALLINT,
    "registered_delivery" SMALLINT,
    "udhi" BOOLEAN NOT NULL DEFAULT false,
    "traceparent" TEXT,

    CONSTRAINT "message_pkey" PRIMARY KEY ("id")
) PARTITION BY RANGE ("id");

CREATE INDEX "message_partner_id_created_at_idx" ON "message"("partner_id", "created_at");
CREATE INDEX "message_partner_id_msisdn_created_at_idx" ON "message"("partner_id", "msisdn", "created_at");
CREATE INDEX "message_release_at_id_idx" ON "message"("release_at", "id") WHERE ("status" = 1);
CREATE INDEX "message_valid_until_id_idx" ON "message"("valid_until", "id") WHERE ("status" = 0);

CREATE TABLE "message_part" (
    "message_id" BIGINT NOT NULL,
    "seq" SMALLINT NOT NULL,
    "smsc_connection_id" INTEGER,
    "smsc_message_id" TEXT,
    "status" SMALLINT NOT NULL DEFAULT 0,
    "ext_status" SMALLINT,
    "submitted_at" TIMESTAMPTZ(3),
    "done_at" TIMESTAMPTZ(3),

    CONSTRAINT "message_part_pkey" PRIMARY KEY ("message_id","seq")
) PARTITION BY RANGE ("message_id");

CREATE INDEX "message_part_smsc_message_id_message_id_idx" ON "message_part"("smsc_message_id", "message_id");

-- Statement triggers with transition tables on the partitioned table see the rows of every partition.
CREATE TRIGGER message_stat_insert AFTER INSERT ON "message" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION message_stat_on_insert();
CREATE TRIGGER message_stat_update AFTER UPDATE ON "message" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION message_stat_on_update();

-- The old tables' indexes have the parent's definitions and become its partitions' (ATTACH finds them).
DO $$
DECLARE
  week_days CONSTANT int := 7;
  day0 bigint := floor(extract(epoch FROM now()) / 86400)::bigint;
  first_day bigint := day0 - (day0 % week_days);
  d bigint;
  lo bigint;
  hi bigint;
BEGIN
  lo := first_day * 24 * 1073741824;
  EXECUTE format('ALTER TABLE "message" ATTACH PARTITION "message_before" FOR VALUES FROM (MINVALUE) TO (%s)', lo);
  EXECUTE format('ALTER TABLE "message_part" ATTACH PARTITION "message_part_before" FOR VALUES FROM (MINVALUE) TO (%s)', lo);
  FOR i IN 0..3 LOOP
    d := first_day + i * week_days;
    lo := d * 24 * 1073741824;
    hi := (d + week_days) * 24 * 1073741824;
    EXECUTE format('CREATE TABLE %I PARTITION OF "message" FOR VALUES FROM (%s) TO (%s)',
                   'message_p' || to_char(to_timestamp(d * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD'), lo, hi);
    EXECUTE format('CREATE TABLE %I PARTITION OF "message_part" FOR VALUES FROM (%s) TO (%s)',
                   'message_part_p' || to_char(to_timestamp(d * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD'), lo, hi);
  END LOOP;
END $$;
