-- DropIndex
DROP INDEX "message_status_release_at_idx";

-- AlterTable
ALTER TABLE "message" ADD COLUMN     "released_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "message_stat" (
    "partner_id" INTEGER NOT NULL,
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "sender" TEXT NOT NULL,
    "test" BOOLEAN NOT NULL,
    "status" SMALLINT NOT NULL,
    "messages" BIGINT NOT NULL DEFAULT 0,
    "segments" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_stat_pkey" PRIMARY KEY ("partner_id","hour","sender","test","status")
);

-- CreateTable
CREATE TABLE "message_stat_delta" (
    "partner_id" INTEGER NOT NULL,
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "sender" TEXT NOT NULL,
    "test" BOOLEAN NOT NULL,
    "old_status" SMALLINT,
    "new_status" SMALLINT NOT NULL,
    "messages" INTEGER NOT NULL,
    "segments" INTEGER NOT NULL,
    "message_id" BIGINT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "dlr_watch" (
    "message_id" BIGINT NOT NULL,
    "status" SMALLINT NOT NULL,
    "partner_id" INTEGER NOT NULL,
    "check_at" TIMESTAMPTZ(3) NOT NULL,
    "checks" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dlr_watch_pkey" PRIMARY KEY ("message_id","status")
);

-- CreateIndex
CREATE INDEX "dlr_watch_check_at_idx" ON "dlr_watch"("check_at");

-- CreateIndex
CREATE INDEX "message_release_at_id_idx" ON "message"("release_at", "id") WHERE ("status" = 1);

-- Added by hand (Prisma's schema cannot express triggers; its diff ignores functions and triggers).
-- Statistics change feed: every INSERT statement on message appends one row per bucket (so an
-- ingress batch of 500 costs one small insert), every status change one row with the message
-- id. The scheduler folds them into message_stat and deletes them. Deleting messages (retention)
-- deliberately changes no statistics.
CREATE FUNCTION "message_stat_on_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO message_stat_delta (partner_id, hour, sender, test, old_status, new_status, messages, segments)
  SELECT partner_id, date_trunc('hour', created_at, 'UTC'), sender, test, NULL, status, count(*), sum(segments)
  FROM new_rows
  GROUP BY partner_id, date_trunc('hour', created_at, 'UTC'), sender, test, status;
  RETURN NULL;
END $$;

CREATE FUNCTION "message_stat_on_status_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO message_stat_delta (partner_id, hour, sender, test, old_status, new_status, messages, segments, message_id)
  VALUES (NEW.partner_id, date_trunc('hour', NEW.created_at, 'UTC'), NEW.sender, NEW.test, OLD.status, NEW.status, 1, NEW.segments, NEW.id);
  RETURN NULL;
END $$;

CREATE TRIGGER "message_stat_insert" AFTER INSERT ON "message"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "message_stat_on_insert"();

CREATE TRIGGER "message_stat_status_change" AFTER UPDATE OF "status" ON "message"
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION "message_stat_on_status_change"();

-- Messages stored before this migration: counted once, here. The migration runs as one
-- transaction; the lock keeps writers out between the triggers' creation and this count.
LOCK TABLE "message" IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO message_stat (partner_id, hour, sender, test, status, messages, segments)
SELECT partner_id, date_trunc('hour', created_at, 'UTC'), sender, test, status, count(*), sum(segments)
FROM message
GROUP BY 1, 2, 3, 4, 5;
