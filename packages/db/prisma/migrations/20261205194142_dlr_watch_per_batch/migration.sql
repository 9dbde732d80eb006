-- One watch row per partner, status and folded statement instead of one per report: the fold
-- inserts a row per batch of status changes, and the report sweep rewrites or deletes it, so a
-- message costs no watch row of its own (an insert and a delete in an indexed table, and a
-- dead row until vacuum). Watches present now are regrouped, nothing is lost.
ALTER TABLE "dlr_watch" DROP CONSTRAINT "dlr_watch_pkey";
ALTER TABLE "dlr_watch" ALTER COLUMN "message_id" DROP NOT NULL,
ADD COLUMN     "id" BIGSERIAL NOT NULL,
ADD COLUMN     "message_ids" BIGINT[];

INSERT INTO "dlr_watch" ("status", "partner_id", "message_ids", "check_at", "checks", "created_at")
SELECT "status", "partner_id", array_agg("message_id" ORDER BY "message_id"), "check_at", max("checks"), min("created_at")
FROM "dlr_watch" WHERE "message_id" IS NOT NULL
GROUP BY "status", "partner_id", "check_at";
DELETE FROM "dlr_watch" WHERE "message_id" IS NOT NULL;

ALTER TABLE "dlr_watch" DROP COLUMN "message_id",
ADD CONSTRAINT "dlr_watch_pkey" PRIMARY KEY ("id");
