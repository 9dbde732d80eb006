import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Pool } from 'pg';
import { checkOut, recordMessageSpan, tracing } from '@smsgw/common';
import { MessageStatus } from '@smsgw/contracts';
import { CLOCK, type Clock } from '../clock';
import { SCHEDULER_CONFIG, type SchedulerConfig } from '../config';
import { Expiry } from '../expiry/expiry.service';
import { PG_POOL } from '../infra/tokens';
import { Jobs, type DispatchRef, type ReportRef } from '../jobs/jobs.service';
import { addBacklogProbe, schedulerMetrics } from '../metrics';
import { PeriodicTask } from '../tasks/periodic-task';
import { decideRelease } from './release-decision';

export interface ReleaseResult {
  released: number;
  /** Windowed messages found after their window closed, moved to the next opening. */
  rescheduled: number;
  expired: number;
}

interface DueRow {
  /** Released by the claim statement itself (a plain postponed message). */
  released: boolean;
  id: string;
  partner_id: number;
  priority: number;
  release_at: Date;
  valid_until: Date;
  window_start: number | null;
  window_end: number | null;
  window_zone: string | null;
  traceparent: string | null;
}

// One statement claims a batch and releases the plain postponed rows in it: the partial index
// message_release_at_id_idx (release_at, id) WHERE status = 1 serves the scan in this order,
// FOR UPDATE SKIP LOCKED lets every instance (and every concurrent batch) take other rows, and
// the locked rows are updated by ctid (no second index lookup). A ctid is unique only within a
// partition: the id goes with it, and as the partition key it lets the executor prune each row's
// lookup to its own partition (a TID scan there, none in the others). Released: release_at cleared, so
// the row leaves the due scan and joins the messages that must have a job (the outbox sweep's
// release_at IS NULL); released_at says when. Windowed rows and rows past their validity come
// back unchanged (still locked) for decideRelease, as the claim read them (no second lookup: a
// generic plan joined them to every partition by hash).
const CLAIM_SQL = `
WITH due AS (
  SELECT id, ctid AS tid, partner_id, priority, release_at, valid_until, window_start, window_end, window_zone, traceparent FROM message
  WHERE status = ${MessageStatus.ACCEPTED} AND release_at <= $1
  ORDER BY release_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), released AS (
  UPDATE message m SET release_at = NULL, released_at = $1
  FROM due WHERE m.id = due.id AND m.ctid = due.tid AND due.window_start IS NULL AND due.valid_until > $1
  RETURNING m.id::text, m.partner_id, m.priority, m.traceparent
)
SELECT true AS released, id, partner_id, priority, NULL::timestamptz AS release_at, NULL::timestamptz AS valid_until,
       NULL::smallint AS window_start, NULL::smallint AS window_end, NULL::text AS window_zone, traceparent
FROM released
UNION ALL
SELECT false, id::text, partner_id, priority, release_at, valid_until, window_start, window_end, window_zone, traceparent
FROM due
WHERE NOT (window_start IS NULL AND valid_until > $1)`;

const MARK_RELEASED_SQL = `UPDATE message SET release_at = NULL, released_at = $2 WHERE id = ANY($1::bigint[])`;
const RESCHEDULE_SQL = `
UPDATE message m SET release_at = v.at
FROM unnest($1::bigint[], $2::timestamptz[]) AS v(id, at)
WHERE m.id = v.id`;
const BACKLOG_SQL = `
SELECT (SELECT count(*)::int FROM (SELECT 1 FROM message WHERE status = ${MessageStatus.ACCEPTED} AND release_at <= $1 LIMIT 1000000) d) AS count,
       (SELECT min(release_at) FROM message WHERE status = ${MessageStatus.ACCEPTED} AND release_at <= $1) AS oldest`;

/**
 * Release of postponed (`send_at`) and windowed (`sending_time`) messages: rows the ingress
 * stored with `release_at` and did not queue. Each batch is one transaction: claim due rows
 * with FOR UPDATE SKIP LOCKED, mark them released, add their `mt.dispatch` batch jobs (one per
 * priority, as the ingress does after a group commit), commit. If the jobs cannot be added the
 * transaction rolls back and the rows stay due; if the commit fails after the jobs were added, the
 * next batch claims the rows again and queues them in new batch jobs: the connector's claim guard
 * lets one run send each message, and the other does nothing.
 * The status does not change, so /cancel still wins until the connector claims the message.
 */
@Injectable()
export class ReleaseService implements OnModuleDestroy {
  private readonly log = new Logger(ReleaseService.name);
  private readonly task: PeriodicTask;
  private removeProbe: (() => void) | null = null;
  private stopping = false;
  /** This instance's totals (the Prometheus counters are per process). */
  readonly totals: ReleaseResult = { released: 0, rescheduled: 0, expired: 0 };

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly jobs: Jobs,
    private readonly expiry: Expiry,
  ) {
    this.task = new PeriodicTask('release', config.SCHEDULER_RELEASE_INTERVAL_MS, async () => {
      await this.releaseDue(this.clock.now());
      return false;
    });
  }

  /** Starts the task if SCHEDULER_TASKS names it (SchedulerLifecycle calls it once PostgreSQL and Redis answer). */
  start(): void {
    this.removeProbe = addBacklogProbe(() => this.backlog(this.clock.now()));
    if (this.config.SCHEDULER_TASKS.includes('release')) this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.removeProbe?.();
    // A backlog is drained batch after batch: stop after the batches in flight, not at its end.
    this.stopping = true;
    await this.task.stop();
  }

  /**
   * Releases everything due at `now`, with SCHEDULER_RELEASE_CONCURRENCY batches in flight; ends
   * when no due row is left unlocked (or the application is stopping).
   */
  async releaseDue(now: Date): Promise<ReleaseResult> {
    const total: ReleaseResult = { released: 0, rescheduled: 0, expired: 0 };
    const worker = async () => {
      while (!this.stopping) {
        const r = await this.releaseBatch(now);
        total.released += r.released;
        total.rescheduled += r.rescheduled;
        total.expired += r.expired;
        if (r.released + r.rescheduled + r.expired < this.config.SCHEDULER_RELEASE_BATCH) return;
      }
    };
    await Promise.all(Array.from({ length: this.config.SCHEDULER_RELEASE_CONCURRENCY }, worker));
    return total;
  }

  /** One claim transaction of up to SCHEDULER_RELEASE_BATCH due rows. */
  async releaseBatch(now: Date): Promise<ReleaseResult> {
    const { client, release } = await checkOut(this.pool);
    let reports: ReportRef[] = [];
    const result: ReleaseResult = { released: 0, rescheduled: 0, expired: 0 };
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<DueRow>({ name: 'scheduler-release-claim', text: CLAIM_SQL, values: [now, this.config.SCHEDULER_RELEASE_BATCH] });
      if (rows.length === 0) {
        await client.query('COMMIT');
        return result;
      }
      const release: DispatchRef[] = [];
      const windowed: string[] = [];
      const expire: string[] = [];
      const wait: { id: string; until: Date }[] = [];
      for (const r of rows) {
        if (r.released) {
          release.push({ id: r.id, partnerId: r.partner_id, priority: asPriority(r.priority), traceparent: r.traceparent });
          continue;
        }
        const d = decideRelease(
          { releaseAt: r.release_at, validUntil: r.valid_until, windowStart: r.window_start, windowEnd: r.window_end, windowZone: r.window_zone },
          now,
          this.config.SCHEDULER_WINDOW_SLACK_MS,
        );
        if (d.kind === 'release') {
          release.push({ id: r.id, partnerId: r.partner_id, priority: asPriority(r.priority), traceparent: r.traceparent });
          windowed.push(r.id);
        } else if (d.kind === 'expire') expire.push(r.id);
        else wait.push({ id: r.id, until: d.until });
      }
      if (windowed.length > 0) await client.query(MARK_RELEASED_SQL, [windowed, now]);
      if (wait.length > 0) await client.query(RESCHEDULE_SQL, [wait.map((w) => w.id), wait.map((w) => w.until)]);
      const expired = await this.expiry.expire(client, expire, now, 'release');
      reports = expired.reports;
      // With tracing on: each traced message's `sms.release` span, which its dispatch continues.
      if (tracing.on) for (const m of release) m.traceparent = recordMessageSpan('sms.release', m.traceparent, { messageId: m.id }) ?? null;
      // Inside the transaction: the rows stay locked (and unreleased) until their jobs exist.
      await this.jobs.dispatchBatched(release);
      await client.query('COMMIT');
      result.released = release.length;
      result.rescheduled = wait.length;
      result.expired = expired.expired;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      release();
    }
    schedulerMetrics.released.inc(result.released);
    schedulerMetrics.rescheduled.inc(result.rescheduled);
    this.totals.released += result.released;
    this.totals.rescheduled += result.rescheduled;
    this.totals.expired += result.expired;
    if (result.rescheduled > 0) this.log.log(`${result.rescheduled} windowed message(s) found after their window closed; moved to the next opening`);
    await this.expiry.report(reports);
    return result;
  }

  private async backlog(now: Date): Promise<{ count: number; oldestSeconds: number }> {
    const { rows } = await this.pool.query<{ count: number; oldest: Date | null }>(BACKLOG_SQL, [now]);
    const r = rows[0];
    return { count: r?.count ?? 0, oldestSeconds: r?.oldest ? Math.max(0, (now.getTime() - r.oldest.getTime()) / 1000) : 0 };
  }
}

export function asPriority(p: number): 0 | 1 | 2 {
  return p === 0 || p === 2 ? p : 1;
}
