import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { Batcher, inTransaction, recordMessageSpan, tracing } from '@smsgw/common';
import { MessageStatus } from '@smsgw/contracts';
import { messageIdFloor } from '@smsgw/db';
import { combineSegmentOutcomes, type MappedStatus, mapReceiptState, normalizeSmscId, receiptAddress, type ReceiptInfo, smscIdCandidates } from '@smsgw/sms';
import { PartnerCallbacks } from '../callbacks/partner-callbacks.service';
import { PG_POOL } from '../infra/tokens';
import { connectorMetrics } from '../metrics';

/** A final segment outcome to store: status 2 or 5. */
export interface PartOutcome {
  status: 2 | 5;
  extStatus: number | null;
  doneAt: Date | null;
}

interface PartRef {
  message_id: string;
  seq: number;
}

/** Rows per statement, and statements of one kind in flight. */
const BATCH = { maxBatch: 500, maxInFlight: 2 };

const DAY_MS = 86_400_000;
/**
 * How old (by its id) a message the first lookup of a receipt looks for: a receipt comes minutes
 * after the submit as a rule, and the bound lets PostgreSQL read the newest partitions only. A
 * receipt that matches nothing so bounded is parked and looked up again (findParts).
 */
export const RECEIPT_RECENT_MS = 3 * DAY_MS;
/**
 * How old a message the lookup after parking looks for: a message postponed by the default horizon
 * (30 days) and sent, with the days its receipt may take. Older ones are found without bound by
 * ParkedReceiptMatcher's pass (receipts that name their subscriber) or here (the others).
 */
export const RECEIPT_LATE_MS = 33 * DAY_MS;
/** The lowest message id: a lookup from it is unbounded. */
const ANY_MESSAGE_ID = '-9223372036854775808';

interface IncomingReceipt {
  smscConnectionId: number;
  connectionName: string;
  receipt: ReceiptInfo;
  mapped: MappedStatus;
}

interface PartUpdate {
  messageId: string;
  seq: number;
  outcome: PartOutcome;
  /**
   * The parked receipt (`unmatched_receipt`) this outcome comes from: claimed (deleted) in the
   * transaction that applies it, and not applied if another path claimed it first (the parking
   * receipt and the segment's recording each find the other's row; applied twice, the second
   * would look like the SMSC repeating the receipt and report the message again).
   */
  parkedId?: string;
}

/** A receipt that finished its single-segment message on the fast path. */
interface Settled {
  messageId: string;
  partnerId: number;
  wantsDlr: boolean;
  status: 2 | 5;
  traceparent: string | null;
}

interface RecordedPart {
  smscConnectionId: number;
  smscMessageId: string;
  messageId: string;
  seq: number;
}

/**
 * The lookup and settlement of settleSingleSegments, one statement: receipts as arrays (key, connection,
 * SMSC id candidate, rank, status, ext_status, done_at), the status a message must still have, and
 * the range of message ids looked at: from messageIdFloor of RECEIPT_RECENT_MS ago to that of a day
 * ahead. Every step that reaches message or message_part repeats the range, so that PostgreSQL
 * plans and opens only those partitions (a step joined on matched ids alone would be planned over
 * every partition, each time: milliseconds with half a year of weekly partitions).
 * Exported for bench:store, which times its lookups on a large store.
 */
export const SETTLE_SINGLE_SEGMENTS_SQL = `WITH matched AS (
     SELECT DISTINCT ON (v.k) v.k, mp.message_id, mp.seq, v.status, v.ext_status, v.done_at
     FROM unnest($1::int[], $2::int[], $3::text[], $4::int[], $5::smallint[], $6::smallint[], $7::timestamptz[])
       AS v(k, conn, smsc_id, rank, status, ext_status, done_at)
     CROSS JOIN LATERAL (
       SELECT message_id, seq FROM message_part
       WHERE smsc_connection_id = v.conn AND smsc_message_id = v.smsc_id AND message_id >= $9::bigint AND message_id < $10::bigint
       ORDER BY submitted_at DESC LIMIT 1
     ) mp
     ORDER BY v.k, v.rank
   ), single AS (
     -- Messages of one segment named once in the batch, still at 0; locked in id order, each by
     -- its key (LATERAL … LIMIT 1: a plain join may read the whole range of ids instead).
     SELECT m.id, c.seq, c.status, c.ext_status, c.done_at
     FROM (SELECT matched.*, count(*) OVER (PARTITION BY message_id) AS hits FROM matched) c
     CROSS JOIN LATERAL (
       SELECT id FROM message
       WHERE id = c.message_id AND id >= $9::bigint AND id < $10::bigint AND segments = 1 AND status = $8
       LIMIT 1 FOR UPDATE
     ) m
     WHERE c.hits = 1
     ORDER BY c.message_id
   ), part AS (
     UPDATE message_part mp SET status = s.status, ext_status = s.ext_status, done_at = coalesce(s.done_at, now())
     FROM single s WHERE mp.message_id = s.id AND mp.seq = s.seq AND mp.status = $8 AND mp.message_id >= $9::bigint AND mp.message_id < $10::bigint
     RETURNING mp.message_id, s.status, s.ext_status
   ), msg AS (
     UPDATE message m SET status = p.status, ext_status = p.ext_status, done_at = now(), updated_at = now()
     FROM part p WHERE m.id = p.message_id AND m.id >= $9::bigint AND m.id < $10::bigint
     RETURNING m.id, m.partner_id, m.traceparent
   )
   SELECT matched.k, matched.message_id::text, matched.seq, msg.id IS NOT NULL AS settled, msg.partner_id,
          pa.status_url IS NOT NULL AS wants_dlr, msg.traceparent
   FROM matched LEFT JOIN msg ON msg.id = matched.message_id LEFT JOIN partner pa ON pa.id = msg.partner_id`;

/**
 * Delivery receipts: matched to the segment by (SMSC connection, SMSC message id), stored on the
 * segment, and, once the message's outcome is known, stored on the message once (guarded by
 * status 0) with a `callback.dlr` for the partner. A receipt that matches nothing yet (it overtook
 * the submit_sm_resp, or the segment is still being recorded) is kept in `unmatched_receipt`
 * and applied when the segment is recorded; one whose segment was never recorded (a crash) is
 * matched by content later (ParkedReceiptMatcher).
 *
 * The lookups are bounded by the message's age (its id), so that they read the newest partitions of
 * message_part, not all of them: on arrival RECEIPT_RECENT_MS, once parked RECEIPT_LATE_MS, then
 * without bound (ParkedReceiptMatcher's pass, or at once for a receipt that does not name its
 * subscriber, which that pass does not look at).
 */
@Injectable()
export class ReceiptService {
  private readonly log = new Logger(ReceiptService.name);
  // Receipts arrive at the rate messages are sent: concurrent ones share their statements.
  private readonly incoming = new Batcher<IncomingReceipt, void>((r) => this.onReceipts(r), { ...BATCH, name: 'receipts.incoming' });
  private readonly outcomes = new Batcher<PartUpdate, void>((u) => this.applyMany(u), { ...BATCH, name: 'receipts.outcomes' });
  private readonly parkedLookups = new Batcher<RecordedPart, void>((p) => this.applyParkedMany(p), { ...BATCH, name: 'receipts.parked' });

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly callbacks: PartnerCallbacks,
  ) {}

  /** Stores the effect of one receipt; the deliver_sm is answered when this resolves. */
  async onReceipt(smscConnectionId: number, connectionName: string, receipt: ReceiptInfo): Promise<void> {
    const mapped = mapReceiptState(receipt.stat, receipt.err);
    if (!mapped.final) {
      // ACCEPTD, ENROUTE and the like: the message is with the operator, which status 0 says already.
      connectorMetrics.receipts.inc({ connection: connectionName, status: 'pending' });
      return;
    }
    await this.incoming.submit({ smscConnectionId, connectionName, receipt, mapped });
  }

  private async onReceipts(batch: IncomingReceipt[]): Promise<void[]> {
    const startedAt = tracing.on ? Date.now() : 0;
    const { found, settled } = await this.settleSingleSegments(batch);
    const updates: PartUpdate[] = [];
    const matched = found.map((part) => part !== null);
    batch.forEach((r, i) => {
      const part = found[i];
      if (part && !settled[i]) updates.push({ messageId: part.message_id, seq: part.seq, outcome: toPartOutcome(r.mapped, r.receipt.doneAt ?? null) });
    });
    const final = settled.filter((x): x is Settled => x !== null);
    const spans = receiptSpans(final, startedAt);
    const reports = final.filter((x) => x.wantsDlr);
    if (reports.length > 0) await Promise.all(reports.map((x) => this.callbacks.deliveryReport(x.messageId, x.partnerId, x.status, spans.get(x.messageId) ?? null)));
    const unmatched = batch.map((_, i) => i).filter((i) => !matched[i]);
    if (unmatched.length > 0) {
      // Park them, then look again: the dispatcher records the segment and then looks for parked
      // receipts, so whichever of the two comes second finds the other's row.
      const parked = unmatched.map((i) => batch[i]!);
      // With what the receipt says about its message: if its segment's id was lost with a crash,
      // ParkedReceiptMatcher finds the segment by content.
      const msisdns = parked.map((r) => (r.receipt.msisdn ? receiptAddress(r.receipt.msisdn) : null));
      const { rows } = await this.pool.query<{ id: string }>(
        `INSERT INTO unmatched_receipt (smsc_connection_id, smsc_message_id, stat, err, msisdn, sender, submit_date, text)
         SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[])
         RETURNING id::text`,
        [
          parked.map((r) => r.smscConnectionId),
          parked.map((r) => normalizeSmscId(r.receipt.smscMessageId)),
          parked.map((r) => r.receipt.stat),
          parked.map((r) => r.receipt.err),
          msisdns,
          parked.map((r) => r.receipt.sender ?? null),
          parked.map((r) => r.receipt.submitDate ?? null),
          parked.map((r) => r.receipt.text ?? null),
        ],
      );
      // The messages of RECEIPT_LATE_MS, or of any age for a receipt that does not name its
      // subscriber: ParkedReceiptMatcher looks again, without bound, only at those that do.
      const late = messageIdFloor(Date.now() - RECEIPT_LATE_MS);
      const again = await this.findParts(
        parked.map((r, j) => ({ smscConnectionId: r.smscConnectionId, smscMessageId: r.receipt.smscMessageId, fromId: msisdns[j] === null ? ANY_MESSAGE_ID : late })),
      );
      parked.forEach((r, j) => {
        const part = again[j];
        if (!part) return;
        updates.push({ messageId: part.message_id, seq: part.seq, outcome: toPartOutcome(r.mapped, r.receipt.doneAt ?? null), parkedId: rows[j]!.id });
        matched[unmatched[j]!] = true;
      });
    }
    if (updates.length > 0) await this.applyMany(updates);
    batch.forEach((r, i) => {
      if (matched[i]) {
        connectorMetrics.receipts.inc({ connection: r.connectionName, status: r.mapped.status === MessageStatus.DELIVERED ? 'delivered' : 'undelivered' });
      } else {
        connectorMetrics.receipts.inc({ connection: r.connectionName, status: 'unmatched' });
        this.log.debug(`receipt for ${r.receipt.smscMessageId} on connection ${r.smscConnectionId} matches no segment yet; parked`);
      }
    });
    return batch.map(() => undefined);
  }

  /**
   * The common case in one statement: a receipt for a single-segment message still at 0 stores
   * the segment's and the message's outcome together (the message row locked first, as in
   * applyMany). Returns the segment each receipt matched, and which receipts were settled so; the
   * others (no segment yet, several segments, already final, named twice in the batch) take the
   * general path.
   */
  private async settleSingleSegments(batch: IncomingReceipt[]): Promise<{ found: Array<PartRef | null>; settled: Array<Settled | null> }> {
    const outcomes = batch.map((r) => toPartOutcome(r.mapped, r.receipt.doneAt ?? null));
    // One row per candidate form of each receipt's id, carrying the receipt's outcome.
    const { keys, conns, ids, ranks } = candidateRows(batch.map((r) => ({ smscConnectionId: r.smscConnectionId, smscMessageId: r.receipt.smscMessageId })));
    const statuses = keys.map((k) => outcomes[k]!.status);
    const extStatuses = keys.map((k) => outcomes[k]!.extStatus);
    const doneAts = keys.map((k) => outcomes[k]!.doneAt);
    const found: Array<PartRef | null> = batch.map(() => null);
    const settled: Array<Settled | null> = batch.map(() => null);
    if (keys.length === 0) return { found, settled };
    // The most likely form of the id first (see smscIdCandidates); among equal ids, the newest
    // segment. Every step is driven by the receipts and joins on a key: the planner cannot estimate
    // the arrays, a step that re-reads the others per receipt costs the square of the batch, and
    // without statistics (autovacuum off, nothing analysed) a plain join on message_part is planned
    // as a scan of the whole table. LATERAL … LIMIT 1 keeps each lookup on its index.
    const { rows } = await this.pool.query<PartRef & { k: number; settled: boolean; partner_id: number | null; wants_dlr: boolean | null; traceparent: string | null }>({
      name: 'connector.settleSingleSegments',
      text: SETTLE_SINGLE_SEGMENTS_SQL,
      values: [keys, conns, ids, ranks, statuses, extStatuses, doneAts, MessageStatus.SUBMITTED, messageIdFloor(Date.now() - RECEIPT_RECENT_MS), messageIdFloor(Date.now() + DAY_MS)],
    });
    for (const r of rows) {
      found[r.k] = { message_id: r.message_id, seq: r.seq };
      if (r.settled) settled[r.k] = { messageId: r.message_id, partnerId: r.partner_id!, wantsDlr: r.wants_dlr === true, status: outcomes[r.k]!.status, traceparent: r.traceparent };
    }
    return { found, settled };
  }

  /** Applies receipts parked for a segment just recorded with `smscMessageId` (normalised). */
  applyParked(smscConnectionId: number, smscMessageId: string, messageId: string, seq: number): Promise<void> {
    return this.parkedLookups.submit({ smscConnectionId, smscMessageId, messageId, seq });
  }

  private async applyParkedMany(parts: RecordedPart[]): Promise<void[]> {
    // The candidate relation is symmetric: the receipt ids whose candidates include the stored id
    // are the stored id's own candidates.
    const { keys, conns, ids } = candidateRows(parts);
    const { rows } = await this.pool.query<{ id: string; k: number; stat: string; err: string | null }>({
      name: 'connector.parkedReceipts',
      text: `SELECT u.id::text, v.k, u.stat, u.err
       FROM unnest($1::int[], $2::int[], $3::text[]) AS v(k, conn, smsc_id)
       JOIN unmatched_receipt u ON u.smsc_connection_id = v.conn AND u.smsc_message_id = v.smsc_id
       ORDER BY u.id`,
      values: [keys, conns, ids],
    });
    if (rows.length > 0) {
      const updates: PartUpdate[] = [];
      const notFinal: string[] = [];
      for (const r of rows) {
        const mapped = mapReceiptState(r.stat, r.err);
        const p = parts[r.k]!;
        if (mapped.final) updates.push({ messageId: p.messageId, seq: p.seq, outcome: toPartOutcome(mapped, null), parkedId: r.id });
        else notFinal.push(r.id);
      }
      // The final ones are claimed and deleted with their outcome (applyMany).
      if (updates.length > 0) await this.applyMany(updates);
      if (notFinal.length > 0) await this.pool.query('DELETE FROM unmatched_receipt WHERE id = ANY($1::bigint[])', [notFinal]);
    }
    return parts.map(() => undefined);
  }

  /**
   * Stores a segment's final outcome and, when the message's outcome follows, the message's. Also
   * used for segments whose receipt never came (the deadline sweep).
   */
  applyToPart(messageId: string, seq: number, outcome: PartOutcome): Promise<void> {
    return this.outcomes.submit({ messageId, seq, outcome });
  }

  /**
   * Segment outcomes, and the messages' outcomes that follow, in one transaction that holds the
   * message rows (locked in id order, so concurrent batches cannot deadlock): two receipts of one
   * message cannot both miss the other's segment. The reports go out after the commit.
   */
  private async applyMany(all: PartUpdate[]): Promise<void[]> {
    const startedAt = tracing.on ? Date.now() : 0;
    const { reports, finished } = await inTransaction(this.pool, async (db) => {
      const messageIds = [...new Set(all.map((u) => u.messageId))];
      const { rows: msgRows } = await db.query<{ id: string; status: number; segments: number; partner_id: number; wants_dlr: boolean; traceparent: string | null }>(
        `SELECT m.id::text, m.status, m.segments, m.partner_id, p.status_url IS NOT NULL AS wants_dlr, m.traceparent
         FROM message m JOIN partner p ON p.id = m.partner_id WHERE m.id = ANY($1::bigint[]) ORDER BY m.id FOR UPDATE OF m`,
        [messageIds],
      );
      // Parked receipts are claimed after the message rows are held (every path locks those first,
      // in id order, so this cannot deadlock): one claimed by another path is not applied again.
      const parkedIds = all.flatMap((u) => (u.parkedId ? [u.parkedId] : []));
      let updates = all;
      if (parkedIds.length > 0) {
        const { rows: claimedRows } = await db.query<{ id: string }>('DELETE FROM unmatched_receipt WHERE id = ANY($1::bigint[]) RETURNING id::text AS id', [parkedIds]);
        const claimed = new Set(claimedRows.map((r) => r.id));
        // Each claimed receipt once, even if this batch names it twice.
        updates = all.filter((u) => u.parkedId === undefined || claimed.delete(u.parkedId));
      }
      // A segment named twice in the batch (a receipt repeated at once) is updated by the first.
      const seen = new Set<string>();
      const firsts: PartUpdate[] = [];
      const repeats: PartUpdate[] = [];
      for (const u of updates) {
        const key = `${u.messageId}/${u.seq}`;
        (seen.has(key) ? repeats : firsts).push(u);
        seen.add(key);
      }
      const { rows: changedRows } = await db.query<{ message_id: string; seq: number }>(
        `UPDATE message_part mp SET status = v.status, ext_status = v.ext_status, done_at = coalesce(v.done_at, now())
         FROM unnest($1::bigint[], $2::int[], $3::smallint[], $4::smallint[], $5::timestamptz[]) AS v(message_id, seq, status, ext_status, done_at)
         WHERE mp.message_id = v.message_id AND mp.seq = v.seq AND mp.status = $6 AND mp.message_id = ANY($1::bigint[])
         RETURNING mp.message_id::text, mp.seq`,
        [
          firsts.map((u) => u.messageId),
          firsts.map((u) => u.seq),
          firsts.map((u) => u.outcome.status),
          firsts.map((u) => u.outcome.extStatus),
          firsts.map((u) => u.outcome.doneAt),
          MessageStatus.SUBMITTED,
        ],
      );
      const changed = new Set(changedRows.map((r) => `${r.message_id}/${r.seq}`));
      const open = msgRows.filter((m) => m.status === MessageStatus.SUBMITTED);
      const partsByMessage = new Map<string, Array<{ status: number; extStatus: number | null }>>();
      if (open.length > 0) {
        const { rows: parts } = await db.query<{ message_id: string; status: number; ext_status: number | null }>(
          'SELECT message_id::text, status, ext_status FROM message_part WHERE message_id = ANY($1::bigint[]) ORDER BY message_id, seq',
          [open.map((m) => m.id)],
        );
        for (const p of parts) {
          const list = partsByMessage.get(p.message_id) ?? [];
          list.push({ status: p.status, extStatus: p.ext_status });
          partsByMessage.set(p.message_id, list);
        }
      }
      const finals: Array<{ id: string; status: 2 | 5; extStatus: number | null }> = [];
      // With tracing on: the messages made final, for their receipt spans.
      const finished: Settled[] = [];
      const out: Array<{ messageId: string; partnerId: number; status: 2 | 5 }> = [];
      for (const m of open) {
        const outcomes = partsByMessage.get(m.id) ?? [];
        const everyPartKnown = outcomes.length >= m.segments && outcomes.every((o) => o.status !== MessageStatus.SUBMITTED);
        // One failed segment decides the message (PROTOCOL: not delivered); otherwise wait for all.
        const combined = combineSegmentOutcomes(outcomes);
        if (combined.final && (everyPartKnown || combined.status === MessageStatus.UNDELIVERED)) {
          const status = combined.status as 2 | 5;
          finals.push({ id: m.id, status, extStatus: combined.extStatus });
          if (tracing.on) finished.push({ messageId: m.id, partnerId: m.partner_id, wantsDlr: m.wants_dlr, status, traceparent: m.traceparent });
          if (m.wants_dlr) out.push({ messageId: m.id, partnerId: m.partner_id, status });
        }
      }
      if (finals.length > 0) {
        await db.query(
          `UPDATE message m SET status = v.status, ext_status = v.ext_status, done_at = now(), updated_at = now()
           FROM unnest($1::bigint[], $2::smallint[], $3::smallint[]) AS v(id, status, ext_status)
           WHERE m.id = v.id AND m.id = ANY($1::bigint[]) AND m.status = $4`,
          [finals.map((f) => f.id), finals.map((f) => f.status), finals.map((f) => f.extStatus), MessageStatus.SUBMITTED],
        );
      }
      // Final already. A repeated receipt means the SMSC did not get our answer last time, which
      // may have been a crash between this commit and the enqueue below: report (again).
      const byId = new Map(msgRows.map((m) => [m.id, m]));
      const repeated = new Set(repeats);
      const reported = new Set<string>();
      for (const u of updates) {
        const m = byId.get(u.messageId);
        if (!m || !m.wants_dlr || reported.has(m.id)) continue;
        if (m.status !== MessageStatus.DELIVERED && m.status !== MessageStatus.UNDELIVERED) continue;
        if (!repeated.has(u) && changed.has(`${u.messageId}/${u.seq}`)) continue;
        reported.add(m.id);
        out.push({ messageId: m.id, partnerId: m.partner_id, status: m.status as 2 | 5 });
      }
      return { reports: out, finished };
    });
    const spans = receiptSpans(finished, startedAt);
    await Promise.all(reports.map((r) => this.callbacks.deliveryReport(r.messageId, r.partnerId, r.status, spans.get(r.messageId) ?? null)));
    return all.map(() => undefined);
  }

  /**
   * The newest segment each receipt names, by (SMSC connection, any form of its id), of a message
   * with an id from `fromId` on; null if none.
   */
  private async findParts(lookups: Array<{ smscConnectionId: number; smscMessageId: string; fromId: string }>): Promise<Array<PartRef | null>> {
    const { keys, conns, ids, ranks } = candidateRows(lookups);
    const out: Array<PartRef | null> = lookups.map(() => null);
    if (keys.length === 0) return out;
    // The most likely form of the id first (see smscIdCandidates); among equal ids, the newest
    // segment. Each receipt's bound prunes the partitions its lookup reads, when it runs.
    const { rows } = await this.pool.query<PartRef & { k: number }>(
      `SELECT DISTINCT ON (v.k) v.k, mp.message_id::text, mp.seq
       FROM unnest($1::int[], $2::int[], $3::text[], $4::int[], $5::bigint[]) AS v(k, conn, smsc_id, rank, from_id)
       CROSS JOIN LATERAL (
         SELECT message_id, seq FROM message_part
         WHERE smsc_connection_id = v.conn AND smsc_message_id = v.smsc_id AND message_id >= v.from_id
         ORDER BY submitted_at DESC LIMIT 1
       ) mp
       ORDER BY v.k, v.rank`,
      [keys, conns, ids, ranks, keys.map((k) => lookups[k]!.fromId)],
    );
    for (const r of rows) out[r.k] = { message_id: r.message_id, seq: r.seq };
    return out;
  }
}

/**
 * One row per candidate form of each id (smscIdCandidates, most likely first): `keys` says whose
 * (its index in `of`), `ranks` how likely. The statements join these rows on their index.
 */
export function candidateRows(of: Array<{ smscConnectionId: number; smscMessageId: string }>): { keys: number[]; conns: number[]; ids: string[]; ranks: number[] } {
  const rows = { keys: [] as number[], conns: [] as number[], ids: [] as string[], ranks: [] as number[] };
  of.forEach((x, i) =>
    smscIdCandidates(x.smscMessageId).forEach((c, rank) => {
      rows.keys.push(i);
      rows.conns.push(x.smscConnectionId);
      rows.ids.push(c);
      rows.ranks.push(rank);
    }),
  );
  return rows;
}

const NO_SPANS: ReadonlyMap<string, string> = new Map();

/**
 * With tracing on, an `sms.receipt` span for each traced message these receipts made final (from
 * the batch's start to its commit), child of the message's stored traceparent; returns their
 * traceparents by message id, for the reports that continue them.
 */
function receiptSpans(finished: Settled[], startTime: number): ReadonlyMap<string, string> {
  if (!tracing.on) return NO_SPANS;
  const out = new Map<string, string>();
  for (const f of finished) {
    const tp = recordMessageSpan('sms.receipt', f.traceparent, { messageId: f.messageId, startTime, attributes: { 'smsgw.status': f.status } });
    if (tp) out.set(f.messageId, tp);
  }
  return out;
}

function toPartOutcome(mapped: MappedStatus, doneAt: Date | null): PartOutcome {
  return { status: mapped.status === MessageStatus.DELIVERED ? 2 : 5, extStatus: mapped.extStatus, doneAt };
}
