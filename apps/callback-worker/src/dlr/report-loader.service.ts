import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { messageIdHour, messageIdRange } from '@smsgw/db';
import { PG_POOL } from '../infra/tokens';

const DAY_MS = 86_400_000;
import type { CallbackState } from '../delivery/callback-log.service';

/** What a delivery report says about its message, and where the report itself stands. */
export interface ReportRow {
  messageId: string;
  partnerId: number;
  partnerMsgId: string | null;
  ptag: string | null;
  segments: number;
  extStatus: number | null;
  /** `doneDate`: when the message reached the reported status (handed over, for status 0), UTC. */
  doneDate: string;
  /** For a receipt over SMPP: the subscriber, the sender, when the message was taken, its text (null: binary data). */
  msisdn: string;
  sender: string;
  createdAt: Date;
  text: string | null;
  /** SMPP registered_delivery of a message submitted over SMPP; null: every report is wanted. */
  registeredDelivery: number | null;
  /** Null unless an attempt was made before ('delivered' also when acknowledged at its first attempt). */
  state: CallbackState | null;
  attempts: number;
  dueAt: Date | null;
  nextAttemptAt: Date | null;
}

interface Row {
  i: string;
  id: string;
  partner_id: number;
  partner_msg_id: string | null;
  ptag: string | null;
  segments: number;
  ext_status: number | null;
  done_date: string;
  msisdn: string;
  sender: string;
  created_at: Date;
  text: string | null;
  registered_delivery: number | null;
  state: CallbackState | null;
  attempts: number | null;
  due_at: Date | null;
  next_attempt_at: Date | null;
}

/**
 * One index lookup per report, whatever the planner believes: a plain join let it read the whole
 * `message` table into a hash for a large batch when the table's statistics were missing or
 * stale (no ANALYZE yet), so each batch cost in proportion to the table. LATERAL with LIMIT 1
 * (both keys are unique) keeps every lookup on `message_pkey` and `callback_message_id_status_key`.
 *
 * A report acknowledged at its first attempt has no `callback` row, only its 2xx attempt: that
 * attempt (looked up on `callback_attempt_message_id_idx`, only when there is no row, and only in
 * the partitions of callback_attempt from the day before the message to tomorrow: an attempt never
 * precedes its message nor is made in the future, the day covers clocks apart) makes it
 * delivered, so a repeated job (a batch re-run, a stalled job, the scheduler's sweep re-adding a
 * single job for a report that was in a batch) does not push it again.
 *
 * $3..$6 give those bounds again as constants, for the whole batch: its ids' range (messageIdRange)
 * and the attempts' days. PostgreSQL then plans and opens only those partitions of message and
 * callback_attempt; bounds known only per row would have it plan every partition, each time.
 */
export const REPORT_SQL = `
SELECT k.i::text AS i, m.id::text AS id, m.partner_id, m.partner_msg_id, m.ptag, m.segments, m.ext_status,
  to_char(CASE WHEN k.status = 0 THEN coalesce(m.submitted_at, m.updated_at) ELSE coalesce(m.done_at, m.updated_at) END AT TIME ZONE 'UTC',
    'YYYY-MM-DD HH24:MI:SS') AS done_date,
  m.msisdn, m.sender, m.created_at, CASE WHEN m.encoding IN (0, 8) THEN left(m.text, 20) END AS text, m.registered_delivery,
  coalesce(c.state::text, a.state) AS state, c.attempts, c.due_at, c.next_attempt_at
FROM unnest($1::bigint[], $2::smallint[]) WITH ORDINALITY AS k(id, status, i)
CROSS JOIN LATERAL (
  SELECT id, partner_id, partner_msg_id, ptag, segments, ext_status, submitted_at, done_at, updated_at, msisdn, sender, created_at, encoding, text, registered_delivery
  FROM message WHERE message.id = k.id AND message.id BETWEEN $3::bigint AND $4::bigint LIMIT 1
) m
LEFT JOIN LATERAL (
  SELECT state, attempts, due_at, next_attempt_at FROM callback WHERE callback.message_id = k.id AND callback.status = k.status LIMIT 1
) c ON true
LEFT JOIN LATERAL (
  SELECT 'delivered'::text AS state FROM callback_attempt
  WHERE callback_attempt.message_id = k.id AND callback_attempt.status = k.status AND callback_attempt.kind = 'dlr'
    AND callback_attempt.http_status BETWEEN 200 AND 299
    AND callback_attempt.attempted_at >= m.created_at - interval '1 day' AND callback_attempt.attempted_at < now() + interval '1 day'
    AND callback_attempt.attempted_at >= $5::timestamptz AND callback_attempt.attempted_at < $6::timestamptz
  LIMIT 1
) a ON c.state IS NULL`;

/** REPORT_SQL's parameters for the reports (message id, status) of a batch. */
export function reportValues(ids: string[], statuses: number[], now = Date.now()): unknown[] {
  const { min, max } = messageIdRange(ids);
  // The attempts' partitions: from the day before the hour of the oldest id to tomorrow.
  return [ids, statuses, min, max, new Date(messageIdHour(min).getTime() - DAY_MS), new Date(now + DAY_MS)];
}

interface Request {
  messageId: string;
  status: number;
  resolve(row: ReportRow | null): void;
  reject(e: Error): void;
}

/** Queries in flight at once; while they run, the next batch gathers (fewer, larger queries). */
const MAX_IN_FLIGHT = 2;
const MAX_BATCH = 1000;

/**
 * Reads the messages of concurrent delivery reports with one query per batch (with the state of
 * each report), instead of one query per job.
 */
@Injectable()
export class ReportLoader {
  private waiting: Request[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  load(messageId: string, status: number): Promise<ReportRow | null> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ messageId, status, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.waiting.length === 0 || this.inFlight >= MAX_IN_FLIGHT) return;
      const batch = this.waiting.splice(0, MAX_BATCH);
      this.inFlight++;
      void this.query(batch).finally(() => {
        this.inFlight--;
        if (this.waiting.length > 0) this.schedule();
      });
    });
  }

  private async query(batch: Request[]): Promise<void> {
    try {
      const values = reportValues(batch.map((r) => r.messageId), batch.map((r) => r.status));
      const { rows } = await this.pool.query<Row>({ name: 'callback-report-load', text: REPORT_SQL, values });
      const byIndex = new Map(rows.map((r) => [Number(r.i) - 1, r]));
      batch.forEach((req, i) => {
        const r = byIndex.get(i);
        req.resolve(
          r
            ? {
                messageId: r.id,
                partnerId: r.partner_id,
                partnerMsgId: r.partner_msg_id,
                ptag: r.ptag,
                segments: r.segments,
                extStatus: r.ext_status,
                doneDate: r.done_date,
                msisdn: r.msisdn,
                sender: r.sender,
                createdAt: r.created_at,
                text: r.text,
                registeredDelivery: r.registered_delivery,
                state: r.state,
                attempts: r.attempts ?? 0,
                dueAt: r.due_at,
                nextAttemptAt: r.next_attempt_at,
              }
            : null,
        );
      });
    } catch (e) {
      batch.forEach((req) => req.reject(e as Error));
    }
  }
}
