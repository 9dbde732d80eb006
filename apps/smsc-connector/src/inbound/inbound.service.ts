import { Inject, Injectable, Logger } from '@nestjs/common';
import type { PDU } from 'smpp';
import { isStatementRefused, type JournalEntry } from '@smsgw/common';
import { isReceiptEsmClass, mapReceiptState, readMoSegment, receiptFromDeliverSm } from '@smsgw/sms';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { MessageStore } from '../messages/message-store';
import { connectorMetrics } from '../metrics';
import { MoService, normaliseNumber } from '../mo/mo.service';
import { ReceiptService } from '../receipts/receipt.service';
import { ESME_ROK, ESME_RX_T_APPN } from '../smpp/smpp-session';
import { InboundJournal, type InboundRecord, receiptForJournal, receiptFromJournal } from './inbound-journal';
import { readDeliverSm } from './deliver-sm';

/** Records applied together: their statements are batched by the services anyway. */
const CHUNK = 2000;
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;

/**
 * A deliver_sm from an SMSC is a delivery receipt or a subscriber's message (MO). Its record is
 * journaled on the connector's disk, the deliver_sm answered, and the record applied to
 * PostgreSQL from the journal in arrival order: a database that is away (an outage, a restart)
 * delays receipts and MO but loses none, and the SMSC does not have to resend (many SMSCs try a
 * receipt once or a few times only). Records the journal cannot take (the disk failed, or too many
 * wait) are refused with a temporary error, so that the SMSC sends them again.
 */
@Injectable()
export class InboundService {
  private readonly log = new Logger(InboundService.name);
  private queue: Array<JournalEntry<InboundRecord>> = [];
  private draining: Promise<void> | null = null;
  private retryDelay = 0;
  private failingSince: number | null = null;
  private sleeping: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  private stopping = false;
  private refusedFull = false;

  constructor(
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly journal: InboundJournal,
    private readonly receipts: ReceiptService,
    private readonly mo: MoService,
    private readonly store: MessageStore,
  ) {}

  /** Opens the journal and applies what an earlier run left; before the SMSCs are bound. */
  async start(): Promise<void> {
    const unfinished = await this.journal.open();
    for (const entry of unfinished) this.queue.push(entry);
    this.drain();
  }

  /**
   * After the SMSC sessions are closed: applies what waits (bounded by `timeoutMs`), then closes the
   * journal. What is not applied by then stays in the journal for the next start.
   */
  async stop(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.settled(), deadline]);
    clearTimeout(timer);
    this.stopping = true;
    this.wake();
    await this.draining;
  }

  /** Called after the MO still held were stored at shutdown: the journal can close. */
  async closeJournal(): Promise<void> {
    await this.journal.close();
  }

  async handle(smscConnectionId: number, connectionName: string, pdu: PDU): Promise<number> {
    const record = this.recordOf(smscConnectionId, connectionName, pdu);
    if (!record) return ESME_ROK;
    if (this.journal.pending >= this.config.CONNECTOR_JOURNAL_MAX_PENDING) {
      if (!this.refusedFull) this.log.error(`${this.journal.pending} receipts and MO wait to be applied (CONNECTOR_JOURNAL_MAX_PENDING): asking the SMSC to resend`);
      this.refusedFull = true;
      return ESME_RX_T_APPN;
    }
    this.refusedFull = false;
    const id = await this.journal.append(record);
    this.queue.push({ id, data: record });
    this.drain();
    return ESME_ROK;
  }

  /**
   * A segment the SMSC accepted (its submit_sm_resp carried `smscMessageId`) that PostgreSQL could
   * not record: journaled and recorded from there, with the receipts parked for it, so that the
   * message is neither sent twice nor left without its receipt. Rejects only if the journal
   * cannot take it either.
   */
  async journalPart(part: { messageId: string; seq: number; smscConnectionId: number; smscMessageId: string }): Promise<void> {
    const record: InboundRecord = { kind: 'part', ...part };
    const id = await this.journal.append(record);
    this.queue.push({ id, data: record });
    this.drain();
  }

  /** What the deliver_sm asks to store; null when there is nothing to store (answered OK at once). */
  private recordOf(smscConnectionId: number, connectionName: string, pdu: PDU): InboundRecord | null {
    const deliver = readDeliverSm(pdu);
    const receipt = receiptFromDeliverSm(deliver);
    if (receipt) {
      if (!mapReceiptState(receipt.stat, receipt.err).final) {
        // ACCEPTD, ENROUTE and the like: the message is with the operator, which status 0 says already.
        connectorMetrics.receipts.inc({ connection: connectionName, status: 'pending' });
        return null;
      }
      return { kind: 'receipt', smscConnectionId, connectionName, receipt: receiptForJournal(receipt) };
    }
    if (isReceiptEsmClass(deliver.esm_class)) {
      // Flagged as a receipt, but without an id or a state: nothing to match it to. Asking for a
      // resend would bring the same bytes back, so it is acknowledged and counted.
      connectorMetrics.receipts.inc({ connection: connectionName, status: 'unparseable' });
      this.log.warn(`unparseable receipt on ${connectionName} from ${deliver.sourceAddr}`);
      return null;
    }
    return {
      kind: 'mo',
      smscConnectionId,
      connectionName,
      msisdn: normaliseNumber(deliver.sourceAddr),
      serviceNumber: normaliseNumber(deliver.destinationAddr),
      segment: readMoSegment(deliver),
    };
  }

  private drain(): void {
    if (this.draining || this.queue.length === 0) return;
    this.draining = this.run().finally(() => {
      this.draining = null;
      if (!this.stopping) this.drain();
    });
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0 && !this.stopping) {
      const chunk = this.queue.slice(0, CHUNK);
      const results = await Promise.allSettled(chunk.map((e) => this.apply(e)));
      const applied: string[] = [];
      const failed: Array<JournalEntry<InboundRecord>> = [];
      let firstError: Error | null = null;
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          if (r.value) applied.push(chunk[i]!.id);
        } else if (isStatementRefused(r.reason)) {
          // The database refuses this record itself (not its absence): retrying would hold it at
          // the head of the queue forever. Logged whole, for the operator to act on, and counted.
          connectorMetrics.journalRefused.inc({ kind: chunk[i]!.data.kind });
          this.log.error(`journal record ${chunk[i]!.id} refused by the database, dropped: ${(r.reason as Error).message}; record ${JSON.stringify(chunk[i]!.data)}`);
          applied.push(chunk[i]!.id);
        } else {
          failed.push(chunk[i]!);
          firstError ??= r.reason as Error;
        }
      });
      this.journal.done(applied);
      // Failed ones keep their place at the head, in arrival order (MO are pushed in that order).
      this.queue = [...failed, ...this.queue.slice(chunk.length)];
      if (failed.length === 0) {
        if (this.failingSince !== null) {
          this.log.log(`receipts and MO are being applied again after ${Math.round((Date.now() - this.failingSince) / 1000)} s; ${this.queue.length} still waiting`);
        }
        this.failingSince = null;
        this.retryDelay = 0;
        continue;
      }
      if (this.failingSince === null) {
        this.failingSince = Date.now();
        this.log.error(`receipts and MO cannot be applied (${firstError!.message}); they are kept in the journal and retried`);
      }
      this.retryDelay = Math.min(RETRY_MAX_MS, this.retryDelay === 0 ? RETRY_FIRST_MS : this.retryDelay * 2);
      await this.sleep(this.retryDelay);
    }
  }

  /** True: applied, the journal entry is done. False: the MO service marks it done later (a segment held for its set). */
  private async apply(entry: JournalEntry<InboundRecord>): Promise<boolean> {
    const r = entry.data;
    switch (r.kind) {
      case 'receipt':
        await this.receipts.onReceipt(r.smscConnectionId, r.connectionName, receiptFromJournal(r.receipt));
        return true;
      case 'part':
        await this.store.recordPart(r.messageId, r.seq, r.smscConnectionId, r.smscMessageId);
        await this.receipts.applyParked(r.smscConnectionId, r.smscMessageId, r.messageId, r.seq);
        return true;
      case 'mo':
        return this.mo.onMoSegment(entry.id, r);
    }
  }

  /** Resolves when nothing waits to be applied (or the queue is stuck on failures). */
  private async settled(): Promise<void> {
    while (this.queue.length > 0 && this.failingSince === null) {
      await (this.draining ?? new Promise((resolve) => setTimeout(resolve, 10)));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeping = null;
        resolve();
      }, ms);
      this.sleeping = { timer, wake: resolve };
    });
  }

  private wake(): void {
    if (!this.sleeping) return;
    clearTimeout(this.sleeping.timer);
    const { wake } = this.sleeping;
    this.sleeping = null;
    wake();
  }
}

