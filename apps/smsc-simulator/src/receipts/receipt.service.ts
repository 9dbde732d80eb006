import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { RECEIPT_STATES, SIMULATOR_CONFIG, type ReceiptStat, type SimulatorConfig } from '../config';
import type { RequestOutcome } from '../smpp/esme-session';
import { ESM_CLASS_RECEIPT } from '../smpp/protocol';
import { SessionRegistry } from '../smpp/session-registry';
import { SimulatorCounters } from '../state/counters';
import { RandomSource } from '../state/random-source';
import { SettingsStore } from '../state/runtime-settings';
import type { PlannedReceipt, SubmitRecord } from '../submits/submit-record';
import { chooseOutcome, type ReceiptRule, wantsReceipt } from './receipt-outcome';
import { formatReceiptText } from './receipt-text';

/** Pause before sending a receipt again after an error answer or a timeout. */
const RETRY_DELAY_MS = 1000;

interface PendingReceipt {
  systemId: string;
  record: SubmitRecord;
  stat: ReceiptStat;
  err: number;
  /** Set when the receipt is due (its done date is fixed then). */
  text: string | null;
  /** deliver_sm sent so far for this receipt, not counting those cut off by a closed connection. */
  attempts: number;
  state: 'waiting' | 'queued' | 'sending';
  timer: NodeJS.Timeout | null;
}

/**
 * Produces delivery receipts: waits the configured delay, then sends a deliver_sm to a receiver
 * bind of the submitting system_id. With no such bind the receipt waits in a queue; a receipt the
 * ESME does not acknowledge is sent again, a few times at most. Receipts live in memory only.
 */
@Injectable()
export class ReceiptService implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger(ReceiptService.name);
  private readonly live = new Set<PendingReceipt>();
  private readonly queues = new Map<string, PendingReceipt[]>();
  private rules: ReceiptRule[] = [];

  constructor(
    @Inject(SIMULATOR_CONFIG) private readonly config: SimulatorConfig,
    private readonly settings: SettingsStore,
    private readonly random: RandomSource,
    private readonly registry: SessionRegistry,
    private readonly counters: SimulatorCounters,
  ) {}

  onModuleInit(): void {
    this.registry.onReceiverBound((systemId) => this.pump(systemId));
  }

  onApplicationShutdown(): void {
    this.clear();
  }

  getRules(): ReceiptRule[] {
    return this.rules;
  }

  setRules(rules: ReceiptRule[]): void {
    this.rules = rules;
  }

  /** Decides the outcome of an accepted submit and schedules its receipt, if one is asked for. */
  schedule(record: SubmitRecord): PlannedReceipt | null {
    if ((record.registeredDelivery & 0x03) === 0) return null;
    const { outcomes, dlrDelayMs } = this.settings.current;
    const outcome = chooseOutcome(record.destinationAddr, this.rules, outcomes, () => this.random.next());
    if (!outcome.final || !wantsReceipt(record.registeredDelivery, outcome.stat)) return null;

    const delayMs = outcome.delayMs ?? dlrDelayMs;
    const item: PendingReceipt = {
      systemId: record.systemId,
      record,
      stat: outcome.stat,
      err: outcome.err,
      text: null,
      attempts: 0,
      state: 'waiting',
      timer: null,
    };
    this.live.add(item);
    item.timer = setTimeout(() => {
      item.timer = null;
      item.text = formatReceiptText({
        id: record.receiptId,
        stat: item.stat,
        err: item.err,
        submitDate: new Date(record.receivedAt),
        doneDate: new Date(),
        text: record.text,
      });
      this.enqueue(item);
    }, delayMs);
    return { stat: outcome.stat, err: outcome.err, delayMs };
  }

  /** Receipts not acknowledged yet: waiting for their delay, queued for a receiver, or sent. */
  pendingCounts(): { pending: number; queued: number } {
    let queued = 0;
    for (const item of this.live) if (item.state === 'queued') queued++;
    return { pending: this.live.size, queued };
  }

  /** Forgets every pending receipt; answers to receipts already sent are then ignored. */
  clear(): void {
    for (const item of this.live) if (item.timer) clearTimeout(item.timer);
    this.live.clear();
    this.queues.clear();
  }

  private enqueue(item: PendingReceipt, front = false): void {
    item.state = 'queued';
    const queue = this.queues.get(item.systemId) ?? [];
    if (front) queue.unshift(item);
    else queue.push(item);
    this.queues.set(item.systemId, queue);
    this.pump(item.systemId);
  }

  /** Sends queued receipts of a system while one of its receivers has room in its window. */
  private pump(systemId: string): void {
    const queue = this.queues.get(systemId);
    while (queue && queue.length > 0) {
      const session = this.registry.pickReceiver(systemId, (s) => s.unansweredRequests < this.config.deliverWindow);
      if (!session) return;
      const item = queue.shift() as PendingReceipt;
      item.state = 'sending';
      item.attempts++;
      this.counters.receiptSent(item.attempts > 1);
      void session
        .request('deliver_sm', this.deliverSmFields(item), this.config.deliverResponseTimeoutMs)
        .then((outcome) => this.settled(item, outcome));
    }
  }

  private settled(item: PendingReceipt, outcome: RequestOutcome): void {
    if (!this.live.has(item)) return;
    if (outcome.kind === 'response' && outcome.status === 0) {
      this.live.delete(item);
      this.counters.receiptAcked();
    } else if (outcome.kind === 'closed') {
      // The connection went away, not the ESME's judgement of the receipt: not an attempt.
      item.attempts--;
      this.enqueue(item, true);
    } else {
      this.counters.error();
      const why = outcome.kind === 'timeout' ? 'no answer' : `status 0x${outcome.status.toString(16)}`;
      if (item.attempts >= this.config.receiptMaxAttempts) {
        this.live.delete(item);
        this.counters.receiptFailed();
        this.log.warn(`receipt for ${item.record.messageId} dropped after ${item.attempts} attempts (${why})`);
      } else {
        item.state = 'waiting';
        item.timer = setTimeout(() => {
          item.timer = null;
          this.enqueue(item);
        }, RETRY_DELAY_MS);
      }
    }
    this.pump(item.systemId);
  }

  /** A receipt travels back: from the submit's destination to its source. */
  private deliverSmFields(item: PendingReceipt): Record<string, unknown> {
    const r = item.record;
    return {
      source_addr_ton: r.destAddrTon,
      source_addr_npi: r.destAddrNpi,
      source_addr: r.destinationAddr,
      dest_addr_ton: r.sourceAddrTon,
      dest_addr_npi: r.sourceAddrNpi,
      destination_addr: r.sourceAddr,
      esm_class: ESM_CLASS_RECEIPT,
      data_coding: 0,
      short_message: Buffer.from(item.text ?? '', 'ascii'),
      receipted_message_id: r.messageId,
      message_state: RECEIPT_STATES[item.stat],
      ...(item.stat === 'DELIVRD' ? {} : { network_error_code: networkErrorCode(item.err) }),
    };
  }
}

/** network_error_code TLV: network type 3 (GSM) and the error as two octets. */
function networkErrorCode(err: number): Buffer {
  return Buffer.from([0x03, (err >> 8) & 0xff, err & 0xff]);
}
