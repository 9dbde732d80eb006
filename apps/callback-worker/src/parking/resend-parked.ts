import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import { dlrJobId, enqueueBulk, moJobId, QUEUES, type TypedJob } from '@smsgw/contracts';

export interface ResendTarget {
  /** Only this partner's parked callbacks. */
  partnerId?: number;
  /** Only these callbacks (`callback.id`). */
  ids?: Array<string | number | bigint>;
}

export interface ResendResult {
  /** Callbacks moved from parked back to pending and queued. */
  dlr: number;
  mo: number;
  /** Ids of the callbacks re-sent. */
  ids: string[];
  /** The callbacks re-sent, with their partner (for the audit log). */
  callbacks: Array<{ id: string; kind: 'dlr' | 'mo'; partnerId: number }>;
}

export interface CallbackQueues {
  dlr: Queue;
  mo: Queue;
}

/** A row of `callback` that needs a job. */
export interface CallbackJobRow {
  id: string;
  kind: 'dlr' | 'mo';
  partner_id: number;
  message_id: string | null;
  status: number | null;
  mo_id: string | null;
  resends: number;
}

export const CALLBACK_JOB_COLUMNS = 'id::text AS id, kind::text AS kind, partner_id, message_id::text AS message_id, status, mo_id::text AS mo_id, resends';

const RESEND_SQL = `
UPDATE callback SET state = 'pending', attempts = 0, due_at = now(), next_attempt_at = now(), parked_at = NULL,
  resends = resends + 1, updated_at = now()
WHERE state = 'parked' AND ($1::int IS NULL OR partner_id = $1) AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
RETURNING ${CALLBACK_JOB_COLUMNS}`;

/**
 * Re-sends parked callbacks (all, a partner's, or the given ones): each gets a fresh retry
 * horizon and a new job. The rows are pending before the jobs exist, so a failed enqueue is
 * repaired by the worker's sweep.
 */
export async function resendParked(pool: Pool, queues: CallbackQueues, target: ResendTarget = {}): Promise<ResendResult> {
  const ids = target.ids && target.ids.length > 0 ? target.ids.map(String) : null;
  const { rows } = await pool.query<CallbackJobRow>(RESEND_SQL, [target.partnerId ?? null, ids]);
  await enqueueCallbacks(queues, rows);
  return {
    dlr: rows.filter((r) => r.kind === 'dlr').length,
    mo: rows.filter((r) => r.kind === 'mo').length,
    ids: rows.map((r) => r.id),
    callbacks: rows.map((r) => ({ id: r.id, kind: r.kind, partnerId: r.partner_id })),
  };
}

/**
 * Jobs for callback rows. The job id is the producer's (`d<message>-<status>`, `mo<id>`), with
 * `-r<n>` after the n-th re-send: adding a job whose id exists is a no-op, so the sweep can
 * re-add freely, and a re-send is never swallowed by the finished original.
 */
export async function enqueueCallbacks(queues: CallbackQueues, rows: CallbackJobRow[]): Promise<void> {
  const dlr: TypedJob<typeof QUEUES.CALLBACK_DLR>[] = [];
  const mo: TypedJob<typeof QUEUES.CALLBACK_MO>[] = [];
  for (const r of rows) {
    if (r.kind === 'dlr' && r.message_id && (r.status === 0 || r.status === 2 || r.status === 5)) {
      dlr.push({
        data: { messageId: r.message_id, partnerId: r.partner_id, status: r.status },
        opts: { jobId: callbackJobId(r)!, removeOnComplete: true, removeOnFail: 10_000 },
      });
    } else if (r.kind === 'mo' && r.mo_id) {
      mo.push({ data: { moId: r.mo_id, partnerId: r.partner_id }, opts: { jobId: callbackJobId(r)!, removeOnComplete: true, removeOnFail: 10_000 } });
    }
  }
  for (let i = 0; i < dlr.length; i += 1000) await enqueueBulk(queues.dlr, QUEUES.CALLBACK_DLR, dlr.slice(i, i + 1000));
  for (let i = 0; i < mo.length; i += 1000) await enqueueBulk(queues.mo, QUEUES.CALLBACK_MO, mo.slice(i, i + 1000));
}

/** The job id of a callback row (`enqueueCallbacks`), null for a row no job can carry. */
export function callbackJobId(r: CallbackJobRow): string | null {
  const suffix = r.resends > 0 ? `-r${r.resends}` : '';
  if (r.kind === 'dlr' && r.message_id && (r.status === 0 || r.status === 2 || r.status === 5)) return `${dlrJobId(r.message_id, r.status)}${suffix}`;
  if (r.kind === 'mo' && r.mo_id) return `${moJobId(r.mo_id)}${suffix}`;
  return null;
}

/**
 * Makes the jobs of callback rows run now: a delayed one is promoted, a lost one added again; one
 * waiting or running is left as it is.
 */
export async function promoteCallbacks(queues: CallbackQueues, rows: CallbackJobRow[]): Promise<void> {
  const lost: CallbackJobRow[] = [];
  for (const r of rows) {
    const id = callbackJobId(r);
    if (id !== null && !(await promoteJob(r.kind === 'dlr' ? queues.dlr : queues.mo, id))) lost.push(r);
  }
  await enqueueCallbacks(queues, lost);
}

/** Makes a delayed job run now; false when there is no such job. */
export async function promoteJob(queue: Queue, id: string): Promise<boolean> {
  const job = await queue.getJob(id);
  if (!job) return false;
  if (await job.isDelayed()) await job.promote().catch(() => undefined); // it started meanwhile
  return true;
}
