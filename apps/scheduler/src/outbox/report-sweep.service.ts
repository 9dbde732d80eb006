import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { inTransaction } from '@smsgw/common';
import { SCHEDULER_CONFIG, type SchedulerConfig } from '../config';
import { PG_POOL } from '../infra/tokens';
import { Jobs, type ReportRef } from '../jobs/jobs.service';
import { schedulerMetrics } from '../metrics';
import type { SweepPage } from './dispatch-sweep.service';

interface WatchRow {
  id: string;
  status: number;
  partner_id: number;
  checks: number;
  /** The partner still wants these reports (status URL; intermediate reports for status 0). */
  wanted: boolean;
  /** Reports watched in this row. */
  total: number;
  /** The messages whose report the callback worker has not taken on (no attempt, no callback row). */
  open: string[];
}

interface MoRow {
  id: string;
  partner_id: number;
  received_at: Date;
}

// dlr_watch rows come from the statistics fold (status changes the partner is told about, one
// row per partner and status of a fold, with the messages' ids); the callback worker records
// every attempt (callback_attempt) and every report that needed a retry (callback, whose own
// sweep then looks after it). Each id is two index lookups; the attempts' only in the partitions
// of callback_attempt from a day before the watch was made (an attempt follows the status change,
// which the watch's fold follows; should the fold have lagged more, a report found open here gets
// a job again and the callback worker finds it delivered).
const WATCH_SQL = `
SELECT w.id::text, w.status, w.partner_id, w.checks, cardinality(w.message_ids) AS total,
  (p.status_url IS NOT NULL AND (w.status <> 0 OR p.intermediate_reports)) AS wanted,
  ARRAY(
    SELECT m.id::text FROM unnest(w.message_ids) AS m(id)
    WHERE NOT EXISTS (SELECT 1 FROM callback c WHERE c.message_id = m.id AND c.status = w.status)
      AND NOT EXISTS (SELECT 1 FROM callback_attempt a WHERE a.message_id = m.id AND a.status = w.status AND a.attempted_at >= w.created_at - interval '1 day' AND a.attempted_at < $1::timestamptz + interval '1 day')
  ) AS open
FROM dlr_watch w JOIN partner p ON p.id = w.partner_id
WHERE w.check_at <= $1
ORDER BY w.check_at
LIMIT $2
FOR UPDATE OF w SKIP LOCKED`;
const FORGET_SQL = `DELETE FROM dlr_watch WHERE id = ANY($1::bigint[])`;
const RECHECK_SQL = `
UPDATE dlr_watch w SET message_ids = k.ids::bigint[], checks = w.checks + 1, check_at = k.at
FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS k(id, ids, at)
WHERE w.id = k.id`;

// MO not acknowledged (callback_done_at IS NULL: the callback worker's partial index) of a
// partner with an MO URL, without a callback row (one that failed once is the worker's to sweep).
const MO_SQL = `
SELECT mo.id::text, mo.partner_id, mo.received_at
FROM mo_message mo JOIN partner p ON p.id = mo.partner_id
WHERE mo.callback_done_at IS NULL AND mo.partner_id IS NOT NULL AND p.mo_url IS NOT NULL
  AND mo.received_at <= $1 AND (mo.received_at, mo.id) > ($2, $3)
  AND NOT EXISTS (SELECT 1 FROM callback c WHERE c.mo_id = mo.id)
ORDER BY mo.received_at, mo.id
LIMIT $4`;
const MO_STILL_SQL = `
SELECT mo.id::text FROM mo_message mo
WHERE mo.id = ANY($1::bigint[]) AND mo.callback_done_at IS NULL AND NOT EXISTS (SELECT 1 FROM callback c WHERE c.mo_id = mo.id)`;

const EPOCH = new Date(0);

/**
 * The outbox sweep of the callback queues: delivery reports and MO the platform owes a partner
 * whose `callback.dlr` / `callback.mo` job is gone (Redis lost it, or the producer's enqueue
 * failed after its commit) get the job again, with the producer's job id.
 *
 * Reports: no message table scan and nothing on the hot path. The statistics fold already reads
 * every status change once; for the changes a partner is told about it adds `dlr_watch` rows (one
 * per partner and status of a fold, with the messages' ids) due SCHEDULER_REPORT_GRACE_MS later.
 * Checking a due row: the reports the callback worker took on (an attempt or a callback row) are
 * dropped from it, and the row goes when none is left or the partner no longer wants them.
 * Every other report's job should be in Redis: if not, it is added again. The row is looked at
 * again later (backoff up to SCHEDULER_REPORT_RECHECK_MAX_MS) until the worker has them all.
 *
 * Only the single job id `d<id>-<status>` is checked: the connector queues reports in batch jobs
 * without per-report ids, so a report still waiting in a batch after the grace gets a single job
 * as well. That is harmless: whichever runs second finds the report delivered (the callback
 * worker's ReportLoader counts a 2xx attempt) or scheduled, and pushes nothing again.
 */
@Injectable()
export class ReportSweep {
  private moCursor: { receivedAt: Date; id: string } = { receivedAt: EPOCH, id: '0' };

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig,
    private readonly jobs: Jobs,
  ) {}

  /** One transaction over up to `limit` watch rows due for a check (`checked` counts their reports). */
  async sweepReports(now: Date, limit = this.config.SCHEDULER_SWEEP_BATCH): Promise<SweepPage> {
    const page = await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<WatchRow>({ name: 'scheduler-sweep-reports', text: WATCH_SQL, values: [now, limit] });
      const checked = rows.reduce((n, r) => n + r.total, 0);
      const done = rows.filter((r) => r.open.length === 0 || !r.wanted);
      const open = rows.filter((r) => r.open.length > 0 && r.wanted);
      if (done.length > 0) await client.query(FORGET_SQL, [done.map((r) => r.id)]);
      let found = 0;
      if (open.length > 0) {
        const reports = open.flatMap((r) => r.open.map((messageId) => ({ messageId, status: r.status, partnerId: r.partner_id })));
        const lost = await this.jobs.withoutReportJob(reports);
        if (lost.length > 0) {
          await this.jobs.reports(lost.map((r): ReportRef => ({ messageId: r.messageId, partnerId: r.partnerId, status: r.status as 0 | 2 | 5 })));
          found = lost.length;
        }
        const grace = this.config.SCHEDULER_REPORT_GRACE_MS;
        const next = open.map((r) => new Date(now.getTime() + Math.min(grace * 2 ** Math.min(r.checks + 1, 20), this.config.SCHEDULER_REPORT_RECHECK_MAX_MS)));
        // Only the reports still open stay watched (a text literal per row: pg has no array of arrays).
        await client.query(RECHECK_SQL, [open.map((r) => r.id), open.map((r) => `{${r.open.join(',')}}`), next]);
      }
      return { checked, found, expired: 0, full: rows.length === limit };
    });
    schedulerMetrics.sweepChecked.inc({ kind: 'report' }, page.checked);
    if (page.found > 0) schedulerMetrics.sweepFound.inc({ kind: 'report' }, page.found);
    return page;
  }

  /** The next page of MO not acknowledged yet. */
  async sweepMo(now: Date, limit = this.config.SCHEDULER_SWEEP_BATCH): Promise<SweepPage> {
    const graceEnd = new Date(now.getTime() - this.config.SCHEDULER_OUTBOX_GRACE_MS);
    const c = this.moCursor;
    const { rows } = await this.pool.query<MoRow>({ name: 'scheduler-sweep-mo', text: MO_SQL, values: [graceEnd, c.receivedAt, c.id, limit] });
    const full = rows.length === limit;
    const last = rows[rows.length - 1];
    this.moCursor = full && last ? { receivedAt: last.received_at, id: last.id } : { receivedAt: EPOCH, id: '0' };
    schedulerMetrics.sweepChecked.inc({ kind: 'mo' }, rows.length);
    if (rows.length === 0) return { checked: 0, found: 0, expired: 0, full };

    const missing = await this.jobs.withoutMoJob(rows.map((r) => r.id));
    let found = 0;
    if (missing.size > 0) {
      const { rows: still } = await this.pool.query<{ id: string }>(MO_STILL_SQL, [[...missing]]);
      const keep = new Set(still.map((r) => r.id));
      const lost = rows.filter((r) => keep.has(r.id));
      if (lost.length > 0) {
        await this.jobs.incomingMessages(lost.map((r) => ({ moId: r.id, partnerId: r.partner_id })));
        schedulerMetrics.sweepFound.inc({ kind: 'mo' }, lost.length);
        found = lost.length;
      }
    }
    return { checked: rows.length, found, expired: 0, full };
  }
}
