import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { PeriodicTask } from '@smsgw/common';
import { MessageStatus } from '@smsgw/contracts';
import { type InFlightMessage, matchReceiptByContent, normalizeSmscId, type ReceiptContent, type SegmentRef, submitWindow } from '@smsgw/sms';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { PG_POOL } from '../infra/tokens';
import { connectorMetrics } from '../metrics';
import { candidateRows, ReceiptService } from './receipt.service';

/** Parked receipts looked at per pass. */
const BATCH = 100;
/**
 * A receipt that fits several messages is looked at again on every pass, until this old: by then
 * each of those messages was resumed (its segment resent or matched), so nothing can change.
 */
const AMBIGUOUS_GIVE_UP_MS = 15 * 60_000;
/** Entries of the in-memory notes below, at most. */
const RECOVERED_MEMORY = 10_000;

interface ParkedRow {
  id: string;
  smsc_connection_id: number;
  smsc_message_id: string;
  msisdn: string;
  sender: string | null;
  submit_date: Date | null;
  text: string | null;
  received_at: Date;
}

interface CandidateRow {
  k: number;
  id: string;
  msisdn: string;
  sender: string;
  text: string;
  encoding: number;
  segments: number;
  submitted_at: Date;
  recorded: number[];
}

const PARKED_COLUMNS = 'id::text, smsc_connection_id, smsc_message_id, msisdn, sender, submit_date, text, received_at';

/**
 * Receipts whose SMSC id matches no segment, matched by what they say about the message instead.
 *
 * The connector records a segment's SMSC id when the submit_sm_resp comes. Killed between writing
 * a submit_sm and that record, it leaves the message claimed (status 0) with the segment missing,
 * while the SMSC has it; the segment's receipt then matches nothing and is parked. Such a receipt
 * is matched, once it has waited RECEIPT_MATCH_GRACE_MS, to the one segment it fits (see
 * matchReceiptByContent): same SMSC connection, subscriber and sender, claimed around the
 * receipt's submit date, the first segment without an id, starting with the receipt's text. The
 * segment is recorded under the receipt's id and the receipt applied as any other (the partner's
 * report included), so the dispatcher does not send the segment again. A receipt that fits no
 * message is marked and not looked at again; one that fits several stays parked (a wrong guess
 * would report another message's outcome).
 *
 * A pass also applies parked receipts whose segment is recorded now (the dispatcher died between
 * recording a segment and applying the receipt that had come first).
 *
 * Candidates are found through message (partner_id, msisdn, created_at), the portal's index, one
 * probe per partner: a subscriber's messages, however many are in flight. The index on status-0
 * messages is by valid_until, which does not narrow them down.
 */
@Injectable()
export class ParkedReceiptMatcher {
  private readonly log = new Logger(ParkedReceiptMatcher.name);
  private readonly task: PeriodicTask;
  private readonly recovered = new Set<string>();
  /** Parked receipts found ambiguous already: said once, not on every pass. */
  private readonly ambiguous = new Set<string>();

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly receipts: ReceiptService,
  ) {
    // A pass every interval from the first one after the start, never two at once.
    this.task = new PeriodicTask('parked receipts', config.RECEIPT_MATCH_INTERVAL_MS, () => this.sweep(), { firstDelayMs: config.RECEIPT_MATCH_INTERVAL_MS, unref: true });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One pass over the receipts parked longer than the grace; returns the segments they were matched to. */
  async sweep(): Promise<SegmentRef[]> {
    const { rows } = await this.pool.query<ParkedRow>(
      `SELECT ${PARKED_COLUMNS} FROM unmatched_receipt
       WHERE msisdn IS NOT NULL AND content_checked_at IS NULL
         AND received_at < now() - make_interval(secs => $1::double precision / 1000)
       ORDER BY received_at LIMIT ${BATCH}`,
      [this.config.RECEIPT_MATCH_GRACE_MS],
    );
    return this.match(rows);
  }

  /**
   * Before a message claimed by a run that did not finish is sent on: the receipts parked for its
   * subscriber on its SMSC, whatever their age, matched now. Returns its segments accounted for.
   */
  async matchFor(m: { id: string; msisdn: string; smscConnectionId: number }): Promise<number[]> {
    const { rows } = await this.pool.query<ParkedRow>(
      `SELECT ${PARKED_COLUMNS} FROM unmatched_receipt
       WHERE msisdn IS NOT NULL AND content_checked_at IS NULL AND msisdn = $1 AND smsc_connection_id = $2
       ORDER BY received_at LIMIT ${BATCH}`,
      [m.msisdn, m.smscConnectionId],
    );
    const matched = await this.match(rows);
    return matched.filter((s) => s.messageId === m.id).map((s) => s.seq);
  }

  /**
   * Whether a receipt accounted for the segment this message had in doubt since it was last
   * dispatched here (its remaining segments were never sent, so sending them is no resubmission).
   * Forgets the message.
   */
  takeRecovered(messageId: string): boolean {
    return this.recovered.delete(messageId);
  }

  private async match(rows: ParkedRow[]): Promise<SegmentRef[]> {
    if (rows.length === 0) return [];
    const unrecorded = await this.applyRecorded(rows);
    if (unrecorded.length === 0) return [];
    const candidates = await this.candidates(unrecorded);
    const matched: SegmentRef[] = [];
    // Segments this pass recorded, or found recorded: no later receipt of the pass is for them.
    const taken: SegmentRef[] = [];
    const none: string[] = [];
    const now = Date.now();
    for (const [k, r] of unrecorded.entries()) {
      const messages = (candidates.get(k) ?? []).map((c) => toInFlight(c, taken));
      const result = matchReceiptByContent(toContent(r), messages, this.config.RECEIPT_MATCH_TOLERANCE_MS);
      if (result.kind === 'none') {
        none.push(r.id);
        connectorMetrics.receiptContentMatch.inc({ outcome: 'none' });
        continue;
      }
      if (result.kind === 'ambiguous') {
        const which = `receipt ${r.smsc_message_id} on connection ${r.smsc_connection_id} fits several segments (${result.candidates.map((c) => `${c.messageId}/${c.seq}`).join(', ')})`;
        if (now - r.received_at.getTime() > AMBIGUOUS_GIVE_UP_MS) {
          none.push(r.id);
          this.ambiguous.delete(r.id);
          this.log.warn(`${which} still; left unmatched`);
        } else if (!this.ambiguous.has(r.id)) {
          if (this.ambiguous.size >= RECOVERED_MEMORY) this.ambiguous.clear();
          this.ambiguous.add(r.id);
          this.log.warn(`${which}; kept parked, none taken`);
          connectorMetrics.receiptContentMatch.inc({ outcome: 'ambiguous' });
        }
        continue;
      }
      taken.push({ messageId: result.messageId, seq: result.seq });
      this.ambiguous.delete(r.id);
      if (await this.record(r, result)) {
        matched.push({ messageId: result.messageId, seq: result.seq });
        this.remember(result.messageId);
        connectorMetrics.receiptContentMatch.inc({ outcome: 'matched' });
        this.log.warn(
          `receipt ${r.smsc_message_id} on connection ${r.smsc_connection_id} matched by content to message ${result.messageId} segment ${result.seq} (its id was never recorded)`,
        );
      }
      // Not recorded: the segment got an id meanwhile (the dispatcher sent it again); the next
      // pass finds nothing for the receipt.
    }
    if (none.length > 0) await this.pool.query('UPDATE unmatched_receipt SET content_checked_at = now() WHERE id = ANY($1::bigint[])', [none]);
    return matched;
  }

  /**
   * Applies the receipts whose segment is recorded by now; returns the others. Without a bound on
   * the message's age, unlike the lookups on a receipt's arrival (ReceiptService): a receipt for a
   * message older than theirs is matched here, a grace after it came.
   */
  private async applyRecorded(rows: ParkedRow[]): Promise<ParkedRow[]> {
    const { keys, conns, ids, ranks } = candidateRows(rows.map((r) => ({ smscConnectionId: r.smsc_connection_id, smscMessageId: r.smsc_message_id })));
    const { rows: found } = await this.pool.query<{ k: number; message_id: string; seq: number; smsc_message_id: string }>(
      `SELECT DISTINCT ON (v.k) v.k, mp.message_id::text, mp.seq, mp.smsc_message_id
       FROM unnest($1::int[], $2::int[], $3::text[], $4::int[]) AS v(k, conn, smsc_id, rank)
       CROSS JOIN LATERAL (
         SELECT message_id, seq, smsc_message_id FROM message_part
         WHERE smsc_connection_id = v.conn AND smsc_message_id = v.smsc_id
         ORDER BY submitted_at DESC LIMIT 1
       ) mp
       ORDER BY v.k, v.rank`,
      [keys, conns, ids, ranks],
    );
    await Promise.all(found.map((f) => this.receipts.applyParked(rows[f.k]!.smsc_connection_id, f.smsc_message_id, f.message_id, f.seq)));
    const recorded = new Set(found.map((f) => f.k));
    return rows.filter((_, k) => !recorded.has(k));
  }

  /** Messages in flight on each receipt's SMSC to its subscriber, claimed in its window. */
  private async candidates(rows: ParkedRow[]): Promise<Map<number, CandidateRow[]>> {
    const windows = rows.map((r) => submitWindow(toContent(r), this.config.RECEIPT_MATCH_TOLERANCE_MS));
    // One probe of (partner_id, msisdn, created_at) per partner: a message is created before it is claimed.
    const { rows: found } = await this.pool.query<CandidateRow>(
      `SELECT v.k, m.id::text, m.msisdn, m.sender, m.text, m.encoding, m.segments, m.submitted_at,
              ARRAY(SELECT seq FROM message_part mp WHERE mp.message_id = m.id AND mp.smsc_message_id IS NOT NULL)::int[] AS recorded
       FROM unnest($1::int[], $2::int[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS v(k, conn, msisdn, from_at, to_at)
       CROSS JOIN LATERAL (
         SELECT id, msisdn, sender, text, encoding, segments, submitted_at FROM message
         WHERE partner_id = ANY(ARRAY(SELECT id FROM partner)) AND msisdn = v.msisdn AND created_at <= v.to_at
           AND status = $6 AND smsc_connection_id = v.conn
           AND submitted_at <= v.to_at AND submitted_at >= coalesce(v.from_at, '-infinity')
       ) m`,
      [
        rows.map((_, k) => k),
        rows.map((r) => r.smsc_connection_id),
        rows.map((r) => r.msisdn),
        windows.map((w) => w.from),
        windows.map((w) => w.to),
        MessageStatus.SUBMITTED,
      ],
    );
    const byReceipt = new Map<number, CandidateRow[]>();
    for (const c of found) byReceipt.set(c.k, [...(byReceipt.get(c.k) ?? []), c]);
    return byReceipt;
  }

  /**
   * Records the segment under the receipt's id, if it is still without one and its message still
   * at 0, and applies the receipt as if it had come after the record.
   */
  private async record(r: ParkedRow, segment: SegmentRef): Promise<boolean> {
    const smscMessageId = normalizeSmscId(r.smsc_message_id);
    const { rowCount } = await this.pool.query(
      `INSERT INTO message_part (message_id, seq, smsc_connection_id, smsc_message_id, submitted_at)
       SELECT m.id, $2, $3, $4, now() FROM message m WHERE m.id = $1 AND m.status = $5
       ON CONFLICT (message_id, seq) DO NOTHING`,
      [segment.messageId, segment.seq, r.smsc_connection_id, smscMessageId, MessageStatus.SUBMITTED],
    );
    if (rowCount !== 1) return false;
    await this.receipts.applyParked(r.smsc_connection_id, smscMessageId, segment.messageId, segment.seq);
    return true;
  }

  private remember(messageId: string): void {
    if (this.recovered.size >= RECOVERED_MEMORY) this.recovered.delete(this.recovered.values().next().value!);
    this.recovered.add(messageId);
  }
}

function toContent(r: ParkedRow): ReceiptContent {
  return { msisdn: r.msisdn, sender: r.sender, submitDate: r.submit_date, text: r.text, receivedAt: r.received_at };
}

/** A candidate, with the segments matched earlier in this pass counted as recorded. */
function toInFlight(c: CandidateRow, taken: ReadonlyArray<SegmentRef>): InFlightMessage {
  const recorded = [...c.recorded, ...taken.filter((t) => t.messageId === c.id).map((t) => t.seq)];
  return { id: c.id, msisdn: c.msisdn, sender: c.sender, text: c.text, encoding: c.encoding, segments: c.segments, submittedAt: c.submitted_at, recorded };
}
