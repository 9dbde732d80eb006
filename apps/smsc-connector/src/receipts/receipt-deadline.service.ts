import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { PeriodicTask } from '@smsgw/common';
import { ExtStatus, MessageStatus } from '@smsgw/contracts';
import { PartnerCallbacks } from '../callbacks/partner-callbacks.service';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { PG_POOL } from '../infra/tokens';
import { MessageStore } from '../messages/message-store';
import { connectorMetrics } from '../metrics';
import { ReceiptService } from './receipt.service';

const BATCH = 500;
/** Parked receipts whose segment never showed up are kept this long for inspection. */
const PARKED_RECEIPT_DAYS = 7;

/**
 * Ends messages whose receipts never came. An SMSC gives up on a message at its validity_period
 * (our valid_until) and reports then; a receipt that has not come a grace time later is lost
 * (an SMSC restart drops receipts it had not sent). The missing segments count as expired (5 / 2:
 * not delivered within its validity), and the message is finished as for any receipt. Messages of
 * the simulated operator have no segments and are left alone (a `…0000` test number stays 0).
 *
 * A PostgreSQL sweep over a partial index rather than one delayed job per message: it costs no
 * Redis memory for the day a message may wait, and survives the loss of Redis.
 */
@Injectable()
export class ReceiptDeadline {
  private readonly log = new Logger(ReceiptDeadline.name);
  private readonly task: PeriodicTask;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly receipts: ReceiptService,
    private readonly store: MessageStore,
    private readonly callbacks: PartnerCallbacks,
  ) {
    // A pass every interval from the first one after the start, never two at once.
    this.task = new PeriodicTask('receipt deadline', config.RECEIPT_SWEEP_INTERVAL_MS, () => this.sweep(), { firstDelayMs: config.RECEIPT_SWEEP_INTERVAL_MS, unref: true });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One pass; returns the number of messages ended. */
  async sweep(): Promise<number> {
    // Whether a message has a segment: a subquery per message found, on the partition of its id.
    // As EXISTS it became a semi join, planned (with many messages past their validity expected)
    // as a hash of every partition of message_part, read whole on every pass.
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT m.id::text FROM message m
       WHERE m.status = $1 AND m.valid_until < now() - make_interval(secs => $2::double precision / 1000)
         AND (SELECT true FROM message_part mp WHERE mp.message_id = m.id LIMIT 1)
       ORDER BY m.valid_until LIMIT ${BATCH}`,
      [MessageStatus.SUBMITTED, this.config.RECEIPT_WAIT_GRACE_MS],
    );
    for (const { id } of rows) {
      const { rows: pending } = await this.pool.query<{ seq: number }>('SELECT seq FROM message_part WHERE message_id = $1 AND status = $2', [
        id,
        MessageStatus.SUBMITTED,
      ]);
      for (const { seq } of pending) {
        await this.receipts.applyToPart(id, seq, { status: MessageStatus.UNDELIVERED, extStatus: ExtStatus.EXPIRED, doneAt: null });
      }
      // Segments never submitted (a job lost with the message half sent) leave it undecided: end it.
      const finished = await this.store.finish(id, MessageStatus.UNDELIVERED, ExtStatus.EXPIRED, [MessageStatus.SUBMITTED]);
      if (finished?.wantsDlr) await this.callbacks.deliveryReport(id, finished.partnerId, MessageStatus.UNDELIVERED);
      connectorMetrics.receiptDeadline.inc();
    }
    if (rows.length > 0) this.log.warn(`${rows.length} message(s) got no receipt by valid_until + grace; ended 5/2`);
    await this.pool.query(`DELETE FROM unmatched_receipt WHERE received_at < now() - interval '${PARKED_RECEIPT_DAYS} days'`);
    return rows.length;
  }
}
