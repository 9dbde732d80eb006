import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { PG_POOL } from '../infra/tokens';
import type { CallbackKind } from './partner-gate.service';

export type CallbackState = 'pending' | 'delivered' | 'parked';

/** One HTTP attempt as the partner's timeline shows it. */
export interface AttemptRecord {
  /** 1, 2, ... since the callback was due. */
  attempt: number;
  attemptedAt: Date;
  /** As sent, credentials redacted. */
  url: string;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
}

/** Where a callback stands after an attempt (or after giving up without one). */
export interface CallbackRecord {
  kind: CallbackKind;
  /** The callback has a `callback` row already (it failed before). */
  hasRow: boolean;
  partnerId: number;
  /** dlr */
  messageId: string | null;
  status: number | null;
  /** mo */
  moId: string | null;
  /** Null when the callback is parked without a new attempt (breaker open at the horizon). */
  attempt: AttemptRecord | null;
  state: CallbackState;
  attempts: number;
  dueAt: Date;
  nextAttemptAt: Date | null;
  lastResult: string | null;
}

interface Pending {
  record: CallbackRecord;
  resolve(): void;
  reject(e: Error): void;
}

const ATTEMPT_COLUMNS = `$1::int[], $2::bigint[], $3::smallint[], $4::bigint[], $5::int[], $6::timestamptz[], $7::text[], $8::smallint[], $9::text[], $10::int[]`;
const STATE_COLUMNS = `$11::int[], $12::bigint[], $13::smallint[], $14::bigint[], $15::callback_state[], $16::int[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::text[]`;

/**
 * Attempts and state in one statement: one commit covers both, so they never disagree. `before`:
 * a data-modifying CTE (on parameters from $21) committed with them.
 */
function upsertSql(kind: CallbackKind, before?: string): string {
  const conflict = kind === 'dlr' ? '(message_id, status)' : '(mo_id)';
  return `
WITH ${before ? `${before},
` : ''}attempt AS (
  INSERT INTO callback_attempt (kind, partner_id, message_id, status, mo_id, attempt, attempted_at, url, http_status, error, duration_ms)
  SELECT '${kind}'::callback_kind, * FROM unnest(${ATTEMPT_COLUMNS})
)
INSERT INTO callback AS c (kind, partner_id, message_id, status, mo_id, state, attempts, due_at, last_attempt_at, next_attempt_at, last_result, delivered_at, parked_at)
SELECT '${kind}'::callback_kind, s.partner_id, s.message_id, s.status, s.mo_id, s.state, s.attempts, s.due_at, s.last_attempt_at, s.next_attempt_at, s.last_result,
  CASE WHEN s.state = 'delivered' THEN s.last_attempt_at END, CASE WHEN s.state = 'parked' THEN now() END
FROM unnest(${STATE_COLUMNS}) AS s(partner_id, message_id, status, mo_id, state, attempts, due_at, last_attempt_at, next_attempt_at, last_result)
ON CONFLICT ${conflict} DO UPDATE SET
  state = EXCLUDED.state, attempts = EXCLUDED.attempts, due_at = EXCLUDED.due_at,
  last_attempt_at = COALESCE(EXCLUDED.last_attempt_at, c.last_attempt_at), next_attempt_at = EXCLUDED.next_attempt_at,
  last_result = EXCLUDED.last_result, delivered_at = EXCLUDED.delivered_at, parked_at = EXCLUDED.parked_at, updated_at = now()
WHERE c.state <> 'delivered'`;
}

const ACK_MO_SQL = upsertSql('mo', `ack AS (UPDATE mo_message SET callback_done_at = now() WHERE id = ANY($21::bigint[]) AND callback_done_at IS NULL)`);

/**
 * The attempt log and the state of callbacks that failed at least once, written with group commit: concurrent deliveries share
 * one statement, and each caller resumes only after its rows are committed, so a job is
 * acknowledged only after its attempt is stored.
 */
@Injectable()
export class CallbackLog implements BeforeApplicationShutdown {
  private readonly logger = new Logger(CallbackLog.name);
  private readonly waiting: Record<CallbackKind, Pending[]> = { dlr: [], mo: [] };
  private inFlight = 0;
  private scheduled = false;
  private readonly maxInFlight: number;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
  ) {
    // Two statements at a time: while they commit, the next batch gathers, so the cost of a
    // commit is shared by many attempts. The rest of the pool serves reads and MO transactions.
    this.maxInFlight = Math.min(2, Math.max(1, config.CALLBACK_DB_POOL - 4));
  }

  record(record: CallbackRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting[record.kind].push({ record, resolve, reject });
      this.schedule();
    });
  }

  /** Writes on the caller's connection, inside its transaction (MO: with the replies). */
  async recordWith(client: PoolClient | Pool, records: CallbackRecord[]): Promise<void> {
    for (const kind of ['dlr', 'mo'] as const) {
      const mine = records.filter((r) => r.kind === kind);
      if (mine.length > 0) await client.query(upsertSql(kind), params(mine));
    }
  }

  /**
   * MO acknowledged without replies: their acknowledgement (`callback_done_at`) and their records
   * in one statement, a commit without a transaction around it.
   */
  async recordAcknowledgedMo(records: CallbackRecord[]): Promise<void> {
    await this.pool.query({ name: 'callback-record-mo-ack', text: ACK_MO_SQL, values: [...params(records), records.map((r) => r.moId)] });
  }

  async beforeApplicationShutdown(): Promise<void> {
    while (this.waiting.dlr.length + this.waiting.mo.length > 0 || this.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const kind of ['dlr', 'mo'] as const) {
        while (this.inFlight < this.maxInFlight && this.waiting[kind].length > 0) {
          const batch = this.waiting[kind].splice(0, this.config.CALLBACK_BATCH_MAX);
          this.inFlight++;
          void this.flush(kind, batch).finally(() => {
            this.inFlight--;
            if (this.waiting.dlr.length + this.waiting.mo.length > 0) this.schedule();
          });
        }
      }
    });
  }

  private async flush(kind: CallbackKind, batch: Pending[]): Promise<void> {
    try {
      await this.pool.query({ name: `callback-record-${kind}`, text: upsertSql(kind), values: params(batch.map((p) => p.record)) });
      for (const p of batch) p.resolve();
    } catch (e) {
      if (batch.length === 1) {
        this.logger.error(`callback record failed: ${(e as Error).message}`);
        batch[0]?.reject(e as Error);
        return;
      }
      // One bad row must not fail its neighbours.
      await Promise.all(batch.map((p) => this.flush(kind, [p])));
    }
  }
}

function params(records: CallbackRecord[]): unknown[] {
  const attempts = records.filter((r) => r.attempt !== null);
  // A push acknowledged at its first attempt needs no state row: its attempt row says it all.
  // Two records of one callback in a batch (a duplicate job): the later state wins.
  const states = new Map<string, CallbackRecord>();
  for (const r of records) if (r.hasRow || r.state !== 'delivered') states.set(r.kind === 'dlr' ? `${r.messageId}:${r.status}` : `${r.moId}`, r);
  const s = [...states.values()];
  return [
    attempts.map((r) => r.partnerId),
    attempts.map((r) => r.messageId),
    attempts.map((r) => r.status),
    attempts.map((r) => r.moId),
    attempts.map((r) => r.attempt!.attempt),
    attempts.map((r) => r.attempt!.attemptedAt),
    attempts.map((r) => r.attempt!.url),
    attempts.map((r) => r.attempt!.httpStatus),
    attempts.map((r) => r.attempt!.error),
    attempts.map((r) => r.attempt!.durationMs),
    s.map((r) => r.partnerId),
    s.map((r) => r.messageId),
    s.map((r) => r.status),
    s.map((r) => r.moId),
    s.map((r) => r.state),
    s.map((r) => r.attempts),
    s.map((r) => r.dueAt),
    s.map((r) => r.attempt?.attemptedAt ?? null),
    s.map((r) => r.nextAttemptAt),
    s.map((r) => r.lastResult),
  ];
}
