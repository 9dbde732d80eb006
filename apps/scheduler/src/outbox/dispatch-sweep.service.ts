import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { MessageStatus } from '@smsgw/contracts';
import { SCHEDULER_CONFIG, type SchedulerConfig } from '../config';
import { Expiry } from '../expiry/expiry.service';
import { PG_POOL } from '../infra/tokens';
import { Jobs, type DispatchRef } from '../jobs/jobs.service';
import { schedulerMetrics } from '../metrics';
import { asPriority } from '../release/release.service';

/** One page of a sweep. */
export interface SweepPage {
  /** Rows looked at. */
  checked: number;
  /** Rows without their job, queued again. */
  found: number;
  /** Expired instead (validity over). */
  expired: number;
  /** The page was full: the pass is not finished. */
  full: boolean;
}

interface HeldRow {
  id: string;
  partner_id: number;
  priority: number;
  valid_until: Date;
  due_since: Date;
  traceparent: string | null;
}

interface ClaimedRow {
  id: string;
  partner_id: number;
  priority: number;
  valid_until: Date;
  incomplete: boolean;
  traceparent: string | null;
}

// Held rows that must have a job: immediate (never had a release_at) or released. Paged by id
// through message_release_at_id_idx (release_at, id) WHERE status = 1.
const HELD_SQL = `
SELECT id::text, partner_id, priority, valid_until, coalesce(released_at, created_at) AS due_since, traceparent
FROM message
WHERE status = ${MessageStatus.ACCEPTED} AND release_at IS NULL AND id > $1
ORDER BY id
LIMIT $2`;

// Messages claimed for an SMSC (status 0) with segments not handed over: an interrupted job
// resumes them; a lost one leaves them stuck. Paged through message_valid_until_id_idx, each
// partition's merged in order. The segments are counted for the page's rows only (an expensive
// output is computed after the LIMIT). No join of the page back to message: over a partitioned
// table the planner made it a hash join on a scan of every partition, each page.
const CLAIMED_SQL = `
SELECT m.id::text, m.partner_id, m.priority, m.valid_until, m.traceparent,
  (m.smsc_connection_id IS NOT NULL AND m.submitted_at <= $4
    AND (SELECT count(*) FROM message_part mp WHERE mp.message_id = m.id AND mp.smsc_message_id IS NOT NULL) < m.segments) AS incomplete
FROM message m
WHERE m.status = ${MessageStatus.SUBMITTED} AND (m.valid_until > $1 OR (m.valid_until = $1 AND m.id > $2))
ORDER BY m.valid_until, m.id
LIMIT $3`;

const STILL_HELD_SQL = `SELECT id::text FROM message WHERE id = ANY($1::bigint[]) AND status = ${MessageStatus.ACCEPTED} AND release_at IS NULL`;
const STILL_INCOMPLETE_SQL = `
SELECT m.id::text FROM message m
WHERE m.id = ANY($1::bigint[]) AND m.status = ${MessageStatus.SUBMITTED}
  AND (SELECT count(*) FROM message_part mp WHERE mp.message_id = m.id AND mp.smsc_message_id IS NOT NULL) < m.segments`;

const EPOCH = new Date(0);

/**
 * The outbox sweep of `mt.dispatch`. PostgreSQL says which messages must have a job; Redis
 * says which jobs exist (EXISTS on the job's hash). A message whose job is missing a grace time
 * after it became due gets it again, with the id and priority every producer uses. Adding a job
 * that exists is a no-op, so two sweeps (or a sweep and the ingress) never make two jobs, and a
 * second run finds nothing. Each instance walks the rows in pages with its own cursor.
 *
 * - Held (status 1, no release_at): the ingress stored it and queued it (or tried to), or the
 *   release queued it. One whose validity is over is expired here instead. The ingress and the
 *   release queue messages in batch jobs, which have no `m<id>`: a message still waiting in its
 *   batch after the grace gets a single job too. That is harmless: the connector claims a message
 *   (1 → 0) before its first submit, so one of the two runs sends it and the other, losing the
 *   claim, gives back its window slot and submits nothing (no error, no retry).
 * - Claimed (status 0 for an SMSC) with segments missing: the connector resumes such a message
 *   from its job; without one it would wait forever.
 */
@Injectable()
export class DispatchSweep {
  private heldCursor = '0';
  private claimedCursor: { validUntil: Date; id: string } = { validUntil: EPOCH, id: '0' };

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig,
    private readonly jobs: Jobs,
    private readonly expiry: Expiry,
  ) {}

  /** The next page of held messages. */
  async sweepHeld(now: Date, limit = this.config.SCHEDULER_SWEEP_BATCH): Promise<SweepPage> {
    const { rows } = await this.pool.query<HeldRow>({ name: 'scheduler-sweep-held', text: HELD_SQL, values: [this.heldCursor, limit] });
    const full = rows.length === limit;
    this.heldCursor = full ? rows[rows.length - 1]!.id : '0';
    schedulerMetrics.sweepChecked.inc({ kind: 'dispatch' }, rows.length);

    const expired = await this.expiry.expireNow(
      rows.filter((r) => r.valid_until.getTime() <= now.getTime()).map((r) => r.id),
      now,
      'sweep',
    );
    const graceEnd = now.getTime() - this.config.SCHEDULER_OUTBOX_GRACE_MS;
    const candidates = rows.filter((r) => r.valid_until.getTime() > now.getTime() && r.due_since.getTime() <= graceEnd);
    const lost = await this.lostJobs(candidates, STILL_HELD_SQL);
    if (lost.length > 0) {
      await this.jobs.dispatch(lost);
      schedulerMetrics.sweepFound.inc({ kind: 'dispatch' }, lost.length);
    }
    return { checked: rows.length, found: lost.length, expired, full };
  }

  /** The next page of claimed messages. */
  async sweepClaimed(now: Date, limit = this.config.SCHEDULER_SWEEP_BATCH): Promise<SweepPage> {
    const graceEnd = new Date(now.getTime() - this.config.SCHEDULER_OUTBOX_GRACE_MS);
    const c = this.claimedCursor;
    const { rows } = await this.pool.query<ClaimedRow>({ name: 'scheduler-sweep-claimed', text: CLAIMED_SQL, values: [c.validUntil, c.id, limit, graceEnd] });
    const full = rows.length === limit;
    const last = rows[rows.length - 1];
    this.claimedCursor = full && last ? { validUntil: last.valid_until, id: last.id } : { validUntil: EPOCH, id: '0' };
    schedulerMetrics.sweepChecked.inc({ kind: 'resume' }, rows.length);

    const lost = await this.lostJobs(rows.filter((r) => r.incomplete), STILL_INCOMPLETE_SQL);
    if (lost.length > 0) {
      await this.jobs.dispatch(lost);
      schedulerMetrics.sweepFound.inc({ kind: 'resume' }, lost.length);
    }
    return { checked: rows.length, found: lost.length, expired: 0, full };
  }

  /**
   * Those of `rows` without a job, that are still in the state that needs one: read after the
   * EXISTS, so a job that finished (and took the message on) in between is not made again.
   */
  private async lostJobs(rows: Array<{ id: string; partner_id: number; priority: number; traceparent: string | null }>, stillSql: string): Promise<DispatchRef[]> {
    if (rows.length === 0) return [];
    const missing = await this.jobs.withoutDispatchJob(rows.map((r) => r.id));
    if (missing.size === 0) return [];
    const { rows: still } = await this.pool.query<{ id: string }>(stillSql, [[...missing]]);
    const keep = new Set(still.map((r) => r.id));
    return rows.filter((r) => keep.has(r.id)).map((r) => ({ id: r.id, partnerId: r.partner_id, priority: asPriority(r.priority), traceparent: r.traceparent }));
  }
}
