import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { MessageStatus } from '@smsgw/contracts';
import { combineSegmentOutcomes, type MappedStatus, mapReceiptState, normalizeSmscId, type ReceiptInfo, smscIdCandidates } from '@smsgw/sms';
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

/**
 * Delivery receipts: matched to the segment by (SMSC connection, SMSC message id), stored on the
 * segment, and, once the message's outcome is known, stored on the message once (guarded by
 * status 0) with a `callback.dlr` for the partner. A receipt that matches nothing yet (it overtook
 * the submit_sm_resp, or the segment is still being recorded) is kept in `unmatched_receipt`
 * and applied when the segment is recorded.
 */
@Injectable()
export class ReceiptService {
  private readonly log = new Logger(ReceiptService.name);

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
    const outcome = toPartOutcome(mapped, receipt.doneAt ?? null);
    const candidates = smscIdCandidates(receipt.smscMessageId);
    let part = await this.findPart(smscConnectionId, candidates);
    if (part) {
      await this.applyToPart(part.message_id, part.seq, outcome);
    } else {
      // Park it, then look again: the dispatcher records the segment and then looks for parked
      // receipts, so whichever of the two comes second finds the other's row.
      const { rows } = await this.pool.query<{ id: string }>(
        `INSERT INTO unmatched_receipt (smsc_connection_id, smsc_message_id, stat, err) VALUES ($1, $2, $3, $4) RETURNING id::text`,
        [smscConnectionId, normalizeSmscId(receipt.smscMessageId), receipt.stat, receipt.err],
      );
      part = await this.findPart(smscConnectionId, candidates);
      if (!part) {
        connectorMetrics.receipts.inc({ connection: connectionName, status: 'unmatched' });
        this.log.debug(`receipt for ${receipt.smscMessageId} on connection ${smscConnectionId} matches no segment yet; parked`);
        return;
      }
      await this.applyToPart(part.message_id, part.seq, outcome);
      await this.pool.query('DELETE FROM unmatched_receipt WHERE id = $1', [rows[0]?.id]);
    }
    connectorMetrics.receipts.inc({ connection: connectionName, status: mapped.status === MessageStatus.DELIVERED ? 'delivered' : 'undelivered' });
  }

  /** Applies receipts parked for a segment just recorded with `smscMessageId` (normalised). */
  async applyParked(smscConnectionId: number, smscMessageId: string, messageId: string, seq: number): Promise<void> {
    // The candidate relation is symmetric: the receipt ids whose candidates include the stored id
    // are the stored id's own candidates.
    const { rows } = await this.pool.query<{ id: string; stat: string; err: string | null }>(
      `SELECT id::text, stat, err FROM unmatched_receipt WHERE smsc_connection_id = $1 AND smsc_message_id = ANY($2::text[]) ORDER BY id`,
      [smscConnectionId, smscIdCandidates(smscMessageId)],
    );
    for (const r of rows) {
      const mapped = mapReceiptState(r.stat, r.err);
      if (mapped.final) await this.applyToPart(messageId, seq, toPartOutcome(mapped, null));
      await this.pool.query('DELETE FROM unmatched_receipt WHERE id = $1', [r.id]);
    }
  }

  /**
   * Stores a segment's final outcome and, when the message's outcome follows, the message's, in
   * one transaction that holds the message row: two receipts of one message cannot both miss the
   * other's segment. Also used for segments whose receipt never came (the deadline sweep).
   */
  async applyToPart(messageId: string, seq: number, outcome: PartOutcome): Promise<void> {
    const report = await this.transaction(async (db) => {
      const { rows: msgRows } = await db.query<{ status: number; segments: number; partner_id: number; wants_dlr: boolean }>(
        `SELECT m.status, m.segments, m.partner_id, p.status_url IS NOT NULL AS wants_dlr
         FROM message m JOIN partner p ON p.id = m.partner_id WHERE m.id = $1 FOR UPDATE OF m`,
        [messageId],
      );
      const msg = msgRows[0];
      if (!msg) return null;
      const changed = await db.query(
        `UPDATE message_part SET status = $3, ext_status = $4, done_at = coalesce($5, now())
         WHERE message_id = $1 AND seq = $2 AND status = $6`,
        [messageId, seq, outcome.status, outcome.extStatus, outcome.doneAt, MessageStatus.SUBMITTED],
      );
      const repeat = changed.rowCount === 0;
      const status = msg.status;
      if (status === MessageStatus.SUBMITTED) {
        const { rows: parts } = await db.query<{ status: number; ext_status: number | null }>(
          'SELECT status, ext_status FROM message_part WHERE message_id = $1 ORDER BY seq',
          [messageId],
        );
        const outcomes = parts.map((p) => ({ status: p.status, extStatus: p.ext_status }));
        const everyPartKnown = parts.length >= msg.segments && outcomes.every((o) => o.status !== MessageStatus.SUBMITTED);
        // One failed segment decides the message (PROTOCOL: not delivered); otherwise wait for all.
        const combined = combineSegmentOutcomes(outcomes);
        if (combined.final && (everyPartKnown || combined.status === MessageStatus.UNDELIVERED)) {
          await db.query(
            `UPDATE message SET status = $2, ext_status = $3, done_at = now(), updated_at = now() WHERE id = $1 AND status = $4`,
            [messageId, combined.status, combined.extStatus, MessageStatus.SUBMITTED],
          );
          return msg.wants_dlr ? { partnerId: msg.partner_id, status: combined.status as 2 | 5 } : null;
        }
        return null;
      }
      // Final already. A repeated receipt means the SMSC did not get our answer last time, which
      // may have been a crash between this commit and the enqueue below: report (again).
      if (repeat && msg.wants_dlr && (status === MessageStatus.DELIVERED || status === MessageStatus.UNDELIVERED)) {
        return { partnerId: msg.partner_id, status: status as 2 | 5 };
      }
      return null;
    });
    if (report) await this.callbacks.deliveryReport(messageId, report.partnerId, report.status);
  }

  private async findPart(smscConnectionId: number, candidates: string[]): Promise<PartRef | null> {
    if (candidates.length === 0) return null;
    // The most likely form of the id first (see smscIdCandidates); among equal ids, the newest segment.
    const { rows } = await this.pool.query<PartRef>(
      `SELECT message_id::text, seq FROM message_part
       WHERE smsc_connection_id = $1 AND smsc_message_id = ANY($2::text[])
       ORDER BY array_position($2::text[], smsc_message_id), submitted_at DESC
       LIMIT 1`,
      [smscConnectionId, candidates],
    );
    return rows[0] ?? null;
  }

  private async transaction<T>(work: (db: PoolClient) => Promise<T>): Promise<T> {
    const db = await this.pool.connect();
    try {
      await db.query('BEGIN');
      const result = await work(db);
      await db.query('COMMIT');
      return result;
    } catch (e) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      db.release();
    }
  }
}

function toPartOutcome(mapped: MappedStatus, doneAt: Date | null): PartOutcome {
  return { status: mapped.status === MessageStatus.DELIVERED ? 2 : 5, extStatus: mapped.extStatus, doneAt };
}
