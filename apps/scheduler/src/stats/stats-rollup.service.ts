import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Pool } from 'pg';
import { MessageStatus } from '@smsgw/contracts';
import { CLOCK, type Clock } from '../clock';
import { SCHEDULER_CONFIG, type SchedulerConfig } from '../config';
import { PG_POOL } from '../infra/tokens';
import { schedulerMetrics } from '../metrics';
import { PeriodicTask } from '../tasks/periodic-task';

// One statement, so one commit: the changes taken from the log are in message_stat (and the
// reports owed in dlr_watch) or still in the log, never both and never neither. SKIP LOCKED lets
// several instances fold different changes at once; the upsert is sorted by key so that two of
// them lock the same statistics rows in the same order.
const FOLD_SQL = `
WITH batch AS (
  DELETE FROM message_stat_delta
  WHERE ctid = ANY(ARRAY(SELECT ctid FROM message_stat_delta LIMIT $1 FOR UPDATE SKIP LOCKED))
  RETURNING partner_id, hour, sender, test, old_status, new_status, messages, segments, message_id, message_ids, at
), changes AS (
  SELECT partner_id, hour, sender, test, new_status AS status, messages, segments FROM batch
  UNION ALL
  SELECT partner_id, hour, sender, test, old_status, -messages, -segments FROM batch WHERE old_status IS NOT NULL
), folded AS (
  INSERT INTO message_stat AS s (partner_id, hour, sender, test, status, messages, segments, updated_at)
  SELECT partner_id, hour, sender, test, status, sum(messages), sum(segments), $2::timestamptz
  FROM changes
  GROUP BY partner_id, hour, sender, test, status
  ORDER BY partner_id, hour, sender, test, status
  ON CONFLICT (partner_id, hour, sender, test, status) DO UPDATE
    SET messages = s.messages + EXCLUDED.messages, segments = s.segments + EXCLUDED.segments, updated_at = EXCLUDED.updated_at
  RETURNING 1
), watched AS (
  -- One watch row per partner and status of this fold, its messages in one array.
  INSERT INTO dlr_watch (status, partner_id, message_ids, check_at)
  SELECT b.new_status, b.partner_id, array_agg(DISTINCT w.message_id ORDER BY w.message_id), $3::timestamptz
  FROM batch b JOIN partner p ON p.id = b.partner_id
  -- message_ids: one row per statement and bucket; message_id: rows logged per change before that.
  CROSS JOIN LATERAL unnest(coalesce(b.message_ids, ARRAY[b.message_id])) AS w(message_id)
  WHERE w.message_id IS NOT NULL AND p.status_url IS NOT NULL
    AND (b.new_status IN (${MessageStatus.DELIVERED}, ${MessageStatus.UNDELIVERED})
         OR (b.new_status = ${MessageStatus.SUBMITTED} AND p.intermediate_reports))
  GROUP BY b.new_status, b.partner_id
  RETURNING cardinality(message_ids) AS n
)
SELECT (SELECT count(*)::int FROM batch) AS changes, (SELECT min(at) FROM batch) AS oldest,
       (SELECT count(*)::int FROM folded) AS buckets, (SELECT coalesce(sum(n), 0)::int FROM watched) AS watched`;

export interface FoldResult {
  /** Change-log rows folded. */
  changes: number;
  /** message_stat rows written. */
  buckets: number;
  /** Reports put under watch. */
  watched: number;
}

/**
 * Statistics rollup: message_stat holds, per partner, hour of acceptance (UTC), sender, test
 * flag and status, how many messages (and segments) are in that status now. Triggers on
 * `message` append to message_stat_delta: one row per INSERT or UPDATE statement and bucket (an
 * ingress batch of 500 messages, or a connector batch of 500 status changes, costs one small row,
 * the latter with the ids of its messages). This task folds the log
 * into message_stat and deletes what it folded, every SCHEDULER_ROLLUP_INTERVAL_MS and at once
 * again while the log is longer than a batch. Cost follows the traffic, never the table size;
 * there is no scan of `message`.
 */
@Injectable()
export class StatsRollup implements OnModuleDestroy {
  private readonly task: PeriodicTask;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.task = new PeriodicTask('rollup', config.SCHEDULER_ROLLUP_INTERVAL_MS, async () => {
      const r = await this.foldBatch(this.clock.now());
      return r.changes === this.config.SCHEDULER_ROLLUP_BATCH;
    });
  }

  /** Starts the task if SCHEDULER_TASKS names it (SchedulerLifecycle calls it once PostgreSQL and Redis answer). */
  start(): void {
    if (this.config.SCHEDULER_TASKS.includes('rollup')) this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }

  async foldBatch(now: Date, limit = this.config.SCHEDULER_ROLLUP_BATCH): Promise<FoldResult> {
    const checkAt = new Date(now.getTime() + this.config.SCHEDULER_REPORT_GRACE_MS);
    const { rows } = await this.pool.query<{ changes: number; oldest: Date | null; buckets: number; watched: number }>({
      name: 'scheduler-rollup-fold',
      text: FOLD_SQL,
      values: [limit, now, checkAt],
    });
    const r = rows[0] ?? { changes: 0, oldest: null, buckets: 0, watched: 0 };
    schedulerMetrics.rollupFolded.inc(r.changes);
    schedulerMetrics.rollupLag.set(r.oldest ? Math.max(0, (Date.now() - r.oldest.getTime()) / 1000) : 0);
    return { changes: r.changes, buckets: r.buckets, watched: r.watched };
  }

  /** Folds until the log is empty (tests). */
  async foldAll(now: Date): Promise<FoldResult> {
    const total: FoldResult = { changes: 0, buckets: 0, watched: 0 };
    for (;;) {
      const r = await this.foldBatch(now);
      total.changes += r.changes;
      total.buckets += r.buckets;
      total.watched += r.watched;
      if (r.changes < this.config.SCHEDULER_ROLLUP_BATCH) return total;
    }
  }
}
