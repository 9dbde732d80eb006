import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { Batcher } from '@smsgw/common';
import { MessageStatus } from '@smsgw/contracts';
import { messageIdRange } from '@smsgw/db';
import { PG_POOL } from '../infra/tokens';

/** Rows per statement of the batched hot-path queries, and statements of one kind in flight. */
const BATCH = { maxBatch: 500, maxInFlight: 2 };

/** A message as the dispatcher needs it, with its partner's reporting settings. */
export interface DispatchMessage {
  id: string;
  partnerId: number;
  status: number;
  extStatus: number | null;
  sender: string;
  msisdn: string;
  text: string;
  /** SMPP data_coding: 0 / 8 a text; anything else 8-bit data, `text` its octets in hex. */
  encoding: number;
  flash: boolean;
  priority: 0 | 1 | 2;
  segments: number;
  validUntil: Date;
  /** The SMSC it was claimed for; later segments prefer it. */
  smscConnectionId: number | null;
  /** Test traffic while the partner's real-delivery switch is off: goes to the simulated operator. */
  simulated: boolean;
  /** The partner has a status URL. */
  wantsDlr: boolean;
  /** ... and asked for status-0 reports too. */
  wantsIntermediate: boolean;
  /** Segments an SMSC has accepted already (a retried job does not send them again). */
  handedOver: Set<number>;
  /** A part of a partner's own concatenated message (SMPP): one segment with this header. */
  concat: { ref: number; total: number; seq: number } | null;
  /** 8-bit data starting with the partner's own UDH: sent as it is. */
  udhi: boolean;
}

interface PartRecord {
  messageId: string;
  seq: number;
  smscConnectionId: number;
  smscMessageId: string;
}

/** The message reached a final status; whom to tell. */
export interface Finished {
  partnerId: number;
  wantsDlr: boolean;
}

interface DispatchRow {
  id: string;
  partner_id: number;
  status: number;
  ext_status: number | null;
  sender: string;
  msisdn: string;
  text: string;
  encoding: number;
  flash: boolean;
  priority: number;
  segments: number;
  valid_until: Date;
  smsc_connection_id: number | null;
  simulated: boolean;
  wants_dlr: boolean;
  wants_intermediate: boolean;
  handed_over: number[];
  concat_ref: number | null;
  concat_total: number | null;
  concat_seq: number | null;
  udhi: boolean;
}

/**
 * The dispatcher's reads and writes of `message` and `message_part`. Every state change is an
 * UPDATE guarded by the status it expects, so a job run twice, a cancel and a submit racing, or
 * two components finishing the same message change it once.
 */
@Injectable()
export class MessageStore {
  // The hot path (load, claim, record a segment) runs once per message: concurrent jobs share one
  // statement each (group commit), so a thousand messages a second cost tens of round trips. The
  // statements are prepared (named): planning them per batch cost more than running them. Their
  // generic plans look rows up by key whatever the statistics say, and the scheduler keeps the
  // statistics current where autovacuum does not (an ANALYZE re-plans them).
  private readonly loads = new Batcher<string, DispatchMessage | null>((ids) => this.loadMany(ids), { ...BATCH, name: 'store.load' });
  private readonly claims = new Batcher<{ id: string; smscConnectionId: number }, boolean>((c) => this.claimMany(c), { ...BATCH, name: 'store.claim' });
  private readonly parts = new Batcher<PartRecord, void>((p) => this.recordMany(p), { ...BATCH, name: 'store.parts' });

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  loadForDispatch(id: string): Promise<DispatchMessage | null> {
    return this.loads.submit(id);
  }

  private async loadMany(ids: string[]): Promise<Array<DispatchMessage | null>> {
    // The batch's lowest and highest id too (messageIdRange), for message and for the segments'
    // subquery: PostgreSQL plans and opens only the partitions of that range.
    const { min, max } = messageIdRange(ids);
    const { rows } = await this.pool.query<DispatchRow>({
      name: 'connector.loadForDispatch',
      text: `SELECT m.id::text, m.partner_id, m.status, m.ext_status, m.sender, m.msisdn, m.text, m.encoding, m.flash, m.priority, m.segments,
              m.valid_until, m.smsc_connection_id, m.concat_ref, m.concat_total, m.concat_seq, m.udhi,
              (m.test AND NOT p.test_real_delivery) AS simulated,
              p.status_url IS NOT NULL AS wants_dlr,
              (p.status_url IS NOT NULL AND p.intermediate_reports) AS wants_intermediate,
              ARRAY(SELECT seq FROM message_part WHERE message_id = m.id AND message_id BETWEEN $2::bigint AND $3::bigint AND smsc_message_id IS NOT NULL)::int[] AS handed_over
       FROM message m JOIN partner p ON p.id = m.partner_id
       WHERE m.id = ANY($1::bigint[]) AND m.id BETWEEN $2::bigint AND $3::bigint`,
      values: [ids, min, max],
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => {
      const r = byId.get(id);
      return r ? toDispatchMessage(r) : null;
    });
  }

  /**
   * 1 → 0 for an SMSC, taken when a bind and a window slot are in hand. /cancel does
   * `UPDATE … WHERE status = 1` too: exactly one of them wins. False: no longer status 1.
   */
  claim(id: string, smscConnectionId: number): Promise<boolean> {
    return this.claims.submit({ id, smscConnectionId });
  }

  private async claimMany(claims: Array<{ id: string; smscConnectionId: number }>): Promise<boolean[]> {
    // One claim per message per statement: a second claim of the same id in the batch loses. The
    // ids again as `= ANY`: PostgreSQL plans only their partitions, and finds each by its key (a
    // range of ids would let it read the range when its statistics make that look small).
    const first = new Map<string, number>();
    claims.forEach((c, i) => first.has(c.id) || first.set(c.id, i));
    const unique = [...first.keys()];
    const { rows } = await this.pool.query<{ id: string }>({
      name: 'connector.claim',
      text: `UPDATE message m SET status = $3, smsc_connection_id = v.conn, submitted_at = now(), updated_at = now()
       FROM unnest($1::bigint[], $2::int[]) AS v(id, conn)
       WHERE m.id = v.id AND m.id = ANY($1::bigint[]) AND m.status = $4
       RETURNING m.id::text`,
      values: [unique, unique.map((id) => claims[first.get(id)!]!.smscConnectionId), MessageStatus.SUBMITTED, MessageStatus.ACCEPTED],
    });
    const won = new Set(rows.map((r) => r.id));
    return claims.map((c, i) => won.has(c.id) && first.get(c.id) === i);
  }

  /**
   * 0 → 1 when the SMSC certainly took no segment (it refused the first one with a temporary
   * error, or it was never written): the platform holds the message again, and /cancel works.
   */
  async releaseClaim(id: string): Promise<void> {
    await this.pool.query(
      `UPDATE message SET status = $2, smsc_connection_id = NULL, submitted_at = NULL, updated_at = now()
       WHERE id = $1 AND status = $3 AND NOT EXISTS (SELECT 1 FROM message_part WHERE message_id = $1)`,
      [id, MessageStatus.ACCEPTED, MessageStatus.SUBMITTED],
    );
  }

  /** Records an accepted segment; a repeat (a job re-run) keeps the first record. */
  recordPart(messageId: string, seq: number, smscConnectionId: number, smscMessageId: string): Promise<void> {
    return this.parts.submit({ messageId, seq, smscConnectionId, smscMessageId });
  }

  private async recordMany(parts: PartRecord[]): Promise<void[]> {
    await this.pool.query({
      name: 'connector.recordParts',
      text: `INSERT INTO message_part (message_id, seq, smsc_connection_id, smsc_message_id, submitted_at)
       SELECT v.message_id, v.seq, v.conn, v.smsc_id, now()
       FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[]) AS v(message_id, seq, conn, smsc_id)
       ON CONFLICT (message_id, seq) DO NOTHING`,
      values: [parts.map((p) => p.messageId), parts.map((p) => p.seq), parts.map((p) => p.smscConnectionId), parts.map((p) => p.smscMessageId)],
    });
    return parts.map(() => undefined);
  }

  /** Final status from one of `from`; null when the message was not in one of them. */
  async finish(id: string, status: 2 | 5, extStatus: number | null, from: number[]): Promise<Finished | null> {
    const { rows } = await this.pool.query<{ partner_id: number; wants_dlr: boolean }>(
      `UPDATE message m SET status = $2, ext_status = $3, done_at = now(), updated_at = now()
       FROM partner p
       WHERE m.id = $1 AND p.id = m.partner_id AND m.status = ANY($4::smallint[])
       RETURNING m.partner_id, p.status_url IS NOT NULL AS wants_dlr`,
      [id, status, extStatus, from],
    );
    const r = rows[0];
    return r ? { partnerId: r.partner_id, wantsDlr: r.wants_dlr } : null;
  }

  /**
   * 5 / 16 (expired inside the platform) for a message not handed over in its validity: still
   * held (1), or claimed for an SMSC with segments missing. A message whose segments all went out
   * waits for its receipts instead.
   */
  async expireUnsent(id: string, extStatus: number): Promise<Finished | null> {
    const { rows } = await this.pool.query<{ partner_id: number; wants_dlr: boolean }>(
      `UPDATE message m SET status = $2, ext_status = $3, done_at = now(), updated_at = now()
       FROM partner p
       WHERE m.id = $1 AND p.id = m.partner_id
         AND (m.status = $4 OR (m.status = $5 AND m.smsc_connection_id IS NOT NULL
              AND (SELECT count(*) FROM message_part mp WHERE mp.message_id = $1) < m.segments))
       RETURNING m.partner_id, p.status_url IS NOT NULL AS wants_dlr`,
      [id, MessageStatus.UNDELIVERED, extStatus, MessageStatus.ACCEPTED, MessageStatus.SUBMITTED],
    );
    const r = rows[0];
    return r ? { partnerId: r.partner_id, wantsDlr: r.wants_dlr } : null;
  }

  /**
   * Test messages with the simulated operator (status 0, no SMSC) handed over before `before`
   * and still without their outcome, except `…0000` numbers, which never get one (PROTOCOL §8).
   * Status-0 rows are the messages in flight, read through the partial index on them.
   */
  async overdueSimulated(olderThanMs: number, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id::text FROM message
       WHERE status = $1 AND smsc_connection_id IS NULL AND test
         AND submitted_at < now() - make_interval(secs => $2::double precision / 1000) AND right(msisdn, 4) <> '0000'
       ORDER BY submitted_at LIMIT $3`,
      [MessageStatus.SUBMITTED, olderThanMs, limit],
    );
    return rows.map((r) => r.id);
  }

  /** 1 → 0 for the simulated operator (no SMSC). False: no longer status 1 (cancelled). */
  async handOverToSimulator(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE message SET status = $2, submitted_at = now(), updated_at = now() WHERE id = $1 AND status = $3`,
      [id, MessageStatus.SUBMITTED, MessageStatus.ACCEPTED],
    );
    return rowCount === 1;
  }
}

function toDispatchMessage(r: DispatchRow): DispatchMessage {
  return {
    id: r.id,
    partnerId: r.partner_id,
    status: r.status,
    extStatus: r.ext_status,
    sender: r.sender,
    msisdn: r.msisdn,
    text: r.text,
    encoding: r.encoding,
    flash: r.flash,
    priority: (r.priority === 0 || r.priority === 2 ? r.priority : 1) as 0 | 1 | 2,
    segments: r.segments,
    validUntil: r.valid_until,
    smscConnectionId: r.smsc_connection_id,
    simulated: r.simulated,
    wantsDlr: r.wants_dlr,
    wantsIntermediate: r.wants_intermediate,
    handedOver: new Set(r.handed_over),
    concat: r.concat_ref !== null && r.concat_total !== null && r.concat_seq !== null ? { ref: r.concat_ref, total: r.concat_total, seq: r.concat_seq } : null,
    udhi: r.udhi,
  };
}
