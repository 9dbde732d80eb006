-- AlterTable
ALTER TABLE "message_stat_delta" ADD COLUMN     "message_ids" BIGINT[];

-- Added by hand (Prisma's schema cannot express triggers). Status changes are logged per UPDATE
-- statement rather than per row: one row per bucket and (old, new) status, with the ids of the
-- messages that changed (the scheduler's fold puts the reports owed under watch from them). The
-- connector and the scheduler change statuses in batched statements, so a batch of 500 status
-- changes costs one small insert instead of 500 trigger calls and 500 rows to fold and delete.
-- The trigger fires for every UPDATE statement on message (a trigger with transition tables
-- cannot name columns); one that changes no status inserts nothing.
DROP TRIGGER "message_stat_status_change" ON "message";
DROP FUNCTION "message_stat_on_status_change"();

CREATE FUNCTION "message_stat_on_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO message_stat_delta (partner_id, hour, sender, test, old_status, new_status, messages, segments, message_ids)
  SELECT n.partner_id, date_trunc('hour', n.created_at, 'UTC'), n.sender, n.test, o.status, n.status, count(*), sum(n.segments), array_agg(n.id)
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE o.status IS DISTINCT FROM n.status
  GROUP BY 1, 2, 3, 4, 5, 6;
  RETURN NULL;
END $$;

CREATE TRIGGER "message_stat_update" AFTER UPDATE ON "message"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "message_stat_on_update"();
