import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import * as path from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { databaseName, isMissingPartition, isStatementRefused, type Journal, openJournalSlot } from '@smsgw/common';
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
  /** Its entry in the journal (an acknowledged push), done once the record is committed. */
  journalId?: string;
  resolve(): void;
  reject(e: Error): void;
}

/** A record as journaled: its dates as ISO strings. */
export type JournaledRecord = Omit<CallbackRecord, 'attempt' | 'dueAt' | 'nextAttemptAt'> & {
  attempt: (Omit<AttemptRecord, 'attemptedAt'> & { attemptedAt: string }) | null;
  dueAt: string;
  nextAttemptAt: string | null;
};

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;

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
  /** The database failing: records wait in memory, written again after this backoff (0: writing normally). */
  private retryDelay = 0;
  private pausedUntil = 0;
  private failingSince = 0;
  private stopping = false;
  private journal: Journal<JournaledRecord> | null = null;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
  ) {
    // Two statements at a time: while they commit, the next batch gathers, so the cost of a
    // commit is shared by many attempts. The rest of the pool serves reads and MO transactions.
    this.maxInFlight = Math.min(2, Math.max(1, config.CALLBACK_DB_POOL - 4));
  }

  /**
   * Opens this instance's journal slot and writes what a killed predecessor left in it: the
   * records of pushes the partner acknowledged that never reached PostgreSQL. Before any job is
   * taken, so that their jobs, run again, find them delivered and push nothing twice.
   */
  async open(): Promise<void> {
    const base = path.join(this.config.CALLBACK_JOURNAL_DIR, databaseName(this.config.DATABASE_URL), 'callback-worker');
    // Not flushed to disk: an entry lost with the machine only makes its push again (docs/architecture.md 10.5).
    // Written once per turn of the event loop: one write for the answers read in that turn, not one each.
    const { journal, unfinished, slot } = await openJournalSlot<JournaledRecord>(base, { name: 'callback', sync: false, writeAt: 'turn' });
    this.journal = journal;
    if (unfinished.length === 0) return;
    this.logger.warn(`journal slot ${slot}: ${unfinished.length} acknowledged push(es) of an earlier run not recorded yet: recording them`);
    await Promise.all(unfinished.map((e) => this.enqueue(fromJournal(e.data), e.id)));
  }

  /**
   * Resolves once the record is committed. The record of a push the partner acknowledged is
   * journaled first (on this machine's disk, a few ms), so that a crash before the commit does not
   * make the push again.
   */
  async record(record: CallbackRecord): Promise<void> {
    const acknowledged = record.kind === 'dlr' && record.state === 'delivered' && record.attempt !== null;
    const journalId = acknowledged && this.journal ? await this.journal.append(toJournal(record)) : undefined;
    return this.enqueue(record, journalId);
  }

  private enqueue(record: CallbackRecord, journalId: string | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting[record.kind].push({ record, journalId, resolve, reject });
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
    // From now on a failed write fails its callers (their jobs run again later) instead of waiting.
    this.stopping = true;
    this.pausedUntil = 0;
    this.schedule();
    while (this.waiting.dlr.length + this.waiting.mo.length > 0 || this.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    await this.journal?.close();
    this.journal = null;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.pausedUntil - Date.now();
    const run = (): void => {
      this.scheduled = false;
      if (this.pausedUntil > Date.now()) return this.schedule();
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
    };
    if (wait > 0) setTimeout(run, wait);
    else setImmediate(run);
  }

  private async flush(kind: CallbackKind, batch: Pending[]): Promise<void> {
    try {
      await this.pool.query({ name: `callback-record-${kind}`, text: upsertSql(kind), values: params(batch.map((p) => p.record)) });
      for (const p of batch) p.resolve();
      const journaled = batch.filter((p) => p.journalId !== undefined).map((p) => p.journalId!);
      if (journaled.length > 0) this.journal?.done(journaled);
      if (this.retryDelay > 0) this.logger.log(`callback records are written again after ${Math.round((Date.now() - this.failingSince) / 1000)} s`);
      this.retryDelay = 0;
    } catch (e) {
      if (!isStatementRefused(e) && !this.stopping) {
        // The database is away (or callback_attempt has no partition for now yet), not the rows
        // wrong. The pushes these records describe have been made: failing their jobs would make
        // them again, a duplicate for the partner. They wait here, in order, and are written when
        // the database takes them.
        if (this.retryDelay === 0) {
          this.failingSince = Date.now();
          this.logger.error(`callback records cannot be written (${(e as Error).message}${isMissingPartition(e) ? ': the scheduler\'s partitions task is not keeping callback_attempt ahead' : ''}); kept and written again when the database takes them`);
        }
        this.retryDelay = Math.min(RETRY_MAX_MS, this.retryDelay === 0 ? RETRY_FIRST_MS : this.retryDelay * 2);
        this.pausedUntil = Date.now() + this.retryDelay;
        this.waiting[kind].unshift(...batch);
        return;
      }
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

export function toJournal(r: CallbackRecord): JournaledRecord {
  return {
    ...r,
    attempt: r.attempt ? { ...r.attempt, attemptedAt: r.attempt.attemptedAt.toISOString() } : null,
    dueAt: r.dueAt.toISOString(),
    nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
  };
}

export function fromJournal(r: JournaledRecord): CallbackRecord {
  return {
    ...r,
    attempt: r.attempt ? { ...r.attempt, attemptedAt: new Date(r.attempt.attemptedAt) } : null,
    dueAt: new Date(r.dueAt),
    nextAttemptAt: r.nextAttemptAt === null ? null : new Date(r.nextAttemptAt),
  };
}
