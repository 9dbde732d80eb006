import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import { defaultParallelFrom, tracing } from '@smsgw/common';
import { dispatchBatches, enqueueBulk, MAX_DISPATCH_BATCH, type MtDispatchMessage, QUEUES } from '@smsgw/contracts';
import { INTAKE_CONFIG, MT_DISPATCH_QUEUE, PG_POOL, type IntakeConfig } from './tokens';
import { MessageIdAllocator } from '@smsgw/db';

export interface NewMessage {
  partnerId: number;
  partnerMsgId: string | null;
  ptag: string | null;
  sender: string;
  msisdn: string;
  text: string;
  /**
   * SMPP data_coding the message is sent with: 0 GSM-7, 8 UCS-2 for a text; any other value is
   * 8-bit data (SMPP only: 4, or an 8-bit coding group value), `text` then holding its octets as
   * lowercase hex.
   */
  encoding: number;
  segments: number;
  flash: boolean;
  priority: 0 | 1 | 2;
  test: boolean;
  /** Postponed or windowed: when to hand it over; null = now. */
  releaseAt: Date | null;
  windowStart: number | null;
  windowEnd: number | null;
  windowZone: string | null;
  validUntil: Date;
  /** A part of a concatenated message as a partner sent it over SMPP: sent as one segment with this header. */
  concat?: { ref: number; total: number; seq: number } | null;
  /** SMPP registered_delivery (submitted over SMPP): which reports the partner wants; absent: all. */
  registeredDelivery?: number | null;
  /** 8-bit data whose hex starts with the partner's own UDH, sent as it is; absent: false. */
  udhi?: boolean;
  /** The W3C traceparent of its accept span (tracing on, sampled): stored, and carried by its job. */
  traceparent?: string;
}

export interface StoredMessage {
  id: string;
  segments: number;
  /** The partnerMsgId was stored before: this is the first message's id, nothing new was sent. */
  existing: boolean;
}

interface Pending {
  message: NewMessage;
  resolve(stored: StoredMessage): void;
  reject(error: Error): void;
}

const COLUMNS =
  'id, partner_id, partner_msg_id, ptag, sender, msisdn, text, encoding, segments, flash, priority, test, release_at, window_start, window_end, window_zone, valid_until, concat_ref, concat_total, concat_seq, registered_delivery, udhi';
const ROWS = `unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
  $8::smallint[], $9::smallint[], $10::bool[], $11::smallint[], $12::bool[], $13::timestamptz[], $14::smallint[],
  $15::smallint[], $16::text[], $17::timestamptz[], $18::int[], $19::smallint[], $20::smallint[], $21::smallint[], $22::bool[]`;

/**
 * The batch's INSERT; with tracing on, with each message's traceparent (null when not sampled).
 * Without a partnerMsgId in the batch (most batches) a plain INSERT. With one, the same statement
 * first claims the keys in message_key (the unique key the partitioned table cannot hold) and
 * stores only the messages without a key or whose key it claimed: a repeat of a stored key, or
 * of one earlier in the batch, is skipped and found by EXISTING_SQL. One statement, so a key is
 * never claimed without its message, and a concurrent batch with the same key waits for this one.
 */
function insertSql(traced: boolean, keyed: boolean): string {
  const columns = traced ? `${COLUMNS}, traceparent` : COLUMNS;
  const rows = `${ROWS}${traced ? ', $23::text[]' : ''})`;
  if (!keyed) return `INSERT INTO message (${columns})\nSELECT * FROM ${rows}\nRETURNING id::text`;
  return `WITH r AS MATERIALIZED (SELECT * FROM ${rows} AS r(${columns})),
k AS (
  INSERT INTO message_key (partner_id, partner_msg_id, message_id)
  SELECT partner_id, partner_msg_id, id FROM r WHERE partner_msg_id IS NOT NULL
  ON CONFLICT DO NOTHING
  RETURNING message_id
)
INSERT INTO message (${columns})
SELECT * FROM r WHERE partner_msg_id IS NULL OR id IN (SELECT message_id FROM k)
RETURNING id::text`;
}
const INSERT = {
  plain: { name: 'ingress.insertMessages', text: insertSql(false, false) },
  traced: { name: 'ingress.insertTracedMessages', text: insertSql(true, false) },
  keyed: { name: 'ingress.insertKeyedMessages', text: insertSql(false, true) },
  keyedTraced: { name: 'ingress.insertKeyedTracedMessages', text: insertSql(true, true) },
};
/** The first message of each repeated key: its key row, then the message by id (one partition each). */
const EXISTING_SQL = `
SELECT m.id::text AS id, m.segments, q.partner_id, q.partner_msg_id
FROM unnest($1::int[], $2::text[]) AS q(partner_id, partner_msg_id)
JOIN message_key k ON k.partner_id = q.partner_id AND k.partner_msg_id = q.partner_msg_id
JOIN message m ON m.id = k.message_id`;

/**
 * Stores accepted messages durably, then hands the immediate ones to `mt.dispatch` (batch jobs of
 * the messages committed within the dispatch gather time, one per priority: INGRESS_DISPATCH_GATHER_MS in
 * the ingress).
 *
 * Concurrent requests share one multi-row INSERT (group commit): while a batch is being written
 * the next one gathers, so the cost of a commit is paid once per batch, not once per message,
 * with synchronous commit on. A caller's promise resolves only after its row is committed.
 */
@Injectable()
export class MessageWriter implements OnApplicationShutdown {
  private readonly logger = new Logger(MessageWriter.name);
  private readonly ids: MessageIdAllocator;
  private waiting: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxInFlight: number;
  private readonly enqueues = new Set<Promise<void>>();
  /** Committed immediate messages gathering for the next `mt.dispatch` jobs. */
  private gathered: MtDispatchMessage[] = [];
  private gatherTimer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(MT_DISPATCH_QUEUE) private readonly queue: Queue,
    @Inject(INTAKE_CONFIG) private readonly config: IntakeConfig,
  ) {
    this.ids = new MessageIdAllocator(pool);
    // Leave a connection free for status reads and id blocks.
    this.maxInFlight = Math.max(1, config.dbPool - 2);
  }

  write(message: NewMessage): Promise<StoredMessage> {
    return new Promise<StoredMessage>((resolve, reject) => {
      this.waiting.push({ message, resolve, reject });
      this.schedule();
    });
  }

  /** Waits for enqueues still running, so that a graceful stop loses no work it could finish. */
  async onApplicationShutdown(): Promise<void> {
    while (this.waiting.length > 0 || this.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    this.enqueueGathered();
    await Promise.allSettled([...this.enqueues]);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Let every request parsed in this turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      // A second INSERT beside one in progress only for a batch worth it (see Batcher.parallelFrom):
      // requests arriving one by one wait for the commit in progress and share the next one.
      const parallelFrom = defaultParallelFrom(this.config.batchMax);
      while (this.inFlight < this.maxInFlight && this.waiting.length > 0 && (this.inFlight === 0 || this.waiting.length >= parallelFrom)) {
        const batch = this.waiting.splice(0, this.config.batchMax);
        this.inFlight++;
        void this.flush(batch).finally(() => {
          this.inFlight--;
          if (this.waiting.length > 0) this.schedule();
        });
      }
    });
  }

  private async flush(batch: Pending[]): Promise<void> {
    let stored: StoredMessage[];
    try {
      stored = await this.insert(batch.map((p) => p.message));
    } catch (error) {
      if (batch.length === 1) {
        this.logger.error(`message insert failed: ${(error as Error).message}`);
        batch[0]?.reject(error as Error);
        return;
      }
      // One bad row must not fail its neighbours: retry each on its own.
      await Promise.all(batch.map((p) => this.flush([p])));
      return;
    }
    const immediate: MtDispatchMessage[] = [];
    batch.forEach((p, i) => {
      const s = stored[i] as StoredMessage;
      const m = p.message;
      if (s.existing || m.releaseAt !== null) return;
      const item: MtDispatchMessage = { messageId: s.id, partnerId: m.partnerId, priority: m.priority };
      if (m.traceparent) item.traceparent = m.traceparent;
      immediate.push(item);
    });
    if (immediate.length > 0) this.gather(immediate);
    batch.forEach((p, i) => p.resolve(stored[i] as StoredMessage));
  }

  /**
   * Each `mt.dispatch` job costs Redis a few scripts and the connector a fetch and a completion,
   * whatever its size. Under load several commits end within a few milliseconds of each other
   * (up to the pool size − 2 run at once), so their messages wait that long and go as one job
   * per priority instead of one per commit. A full batch goes at once.
   */
  private gather(messages: MtDispatchMessage[]): void {
    const gatherMs = this.config.dispatchGatherMs;
    if (gatherMs === 0) {
      this.enqueue(messages);
      return;
    }
    for (const m of messages) this.gathered.push(m);
    if (this.gathered.length >= MAX_DISPATCH_BATCH) this.enqueueGathered();
    else this.gatherTimer ??= setTimeout(() => this.enqueueGathered(), gatherMs);
  }

  private enqueueGathered(): void {
    if (this.gatherTimer) clearTimeout(this.gatherTimer);
    this.gatherTimer = null;
    if (this.gathered.length === 0) return;
    const messages = this.gathered;
    this.gathered = [];
    this.enqueue(messages);
  }

  /**
   * One batch job per priority present (not one job per message). The rows are committed
   * already, so a failure here still means `OK` for the partner: the scheduler's outbox sweep
   * re-enqueues status-1 rows that have no job.
   */
  private enqueue(messages: MtDispatchMessage[]): void {
    const p = enqueueBulk(this.queue, QUEUES.MT_DISPATCH, dispatchBatches(messages))
      .catch((e) => {
        const ids = messages.map((m) => m.messageId);
        this.logger.error(`enqueue of ${ids.length} stored messages failed, the outbox sweep will retry them (${(e as Error).message}); ids ${ids.slice(0, 20).join(',')}${ids.length > 20 ? ',…' : ''}`);
      })
      .finally(() => this.enqueues.delete(p));
    this.enqueues.add(p);
  }

  private async insert(messages: NewMessage[]): Promise<StoredMessage[]> {
    const ids = await this.ids.take(messages.length);
    const col = <T>(f: (m: NewMessage) => T) => messages.map(f);
    const values: unknown[] = [
      ids,
      col((m) => m.partnerId),
      col((m) => m.partnerMsgId),
      col((m) => m.ptag),
      col((m) => m.sender),
      col((m) => m.msisdn),
      col((m) => m.text),
      col((m) => m.encoding),
      col((m) => m.segments),
      col((m) => m.flash),
      col((m) => m.priority),
      col((m) => m.test),
      col((m) => m.releaseAt),
      col((m) => m.windowStart),
      col((m) => m.windowEnd),
      col((m) => m.windowZone),
      col((m) => m.validUntil),
      col((m) => m.concat?.ref ?? null),
      col((m) => m.concat?.total ?? null),
      col((m) => m.concat?.seq ?? null),
      col((m) => m.registeredDelivery ?? null),
      col((m) => m.udhi ?? false),
    ];
    // Tracing off: the statement without the column, so that it costs nothing.
    if (tracing.on) values.push(col((m) => m.traceparent ?? null));
    const keyed = messages.some((m) => m.partnerMsgId !== null);
    const statement = keyed ? (tracing.on ? INSERT.keyedTraced : INSERT.keyed) : tracing.on ? INSERT.traced : INSERT.plain;
    // A named statement: PostgreSQL parses and plans it once per connection, not per batch.
    const { rows } = await this.pool.query<{ id: string }>({ ...statement, values });
    const inserted = new Set(rows.map((r) => r.id));
    const result: StoredMessage[] = messages.map((m, i) => ({ id: ids[i] as string, segments: m.segments, existing: false }));
    if (inserted.size === messages.length) return result;

    // Rows not stored repeat a claimed partnerMsgId: answer with the first message.
    const conflicts = messages.map((m, i) => ({ m, i })).filter(({ i }) => !inserted.has(ids[i] as string));
    const existing = await this.pool.query<{ id: string; segments: number; partner_id: number; partner_msg_id: string }>({
      name: 'ingress.existingMessages',
      text: EXISTING_SQL,
      values: [conflicts.map(({ m }) => m.partnerId), conflicts.map(({ m }) => m.partnerMsgId)],
    });
    const byKey = new Map(existing.rows.map((r) => [`${r.partner_id}:${r.partner_msg_id}`, r]));
    for (const { m, i } of conflicts) {
      const first = byKey.get(`${m.partnerId}:${m.partnerMsgId}`);
      if (!first) throw new Error(`message ${ids[i]} was neither inserted nor found by partnerMsgId`);
      result[i] = { id: first.id, segments: first.segments, existing: true };
    }
    return result;
  }
}
