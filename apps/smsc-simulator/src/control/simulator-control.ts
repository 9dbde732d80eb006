import { Injectable } from '@nestjs/common';
import { MoService, type MoRequest, type MoResult } from '../mo/mo.service';
import type { ReceiptRule } from '../receipts/receipt-outcome';
import { ReceiptService } from '../receipts/receipt.service';
import type { BindMode } from '../smpp/bind';
import { SessionRegistry } from '../smpp/session-registry';
import { SimulatorCounters } from '../state/counters';
import { RandomSource } from '../state/random-source';
import { type RuntimeSettings, SettingsStore } from '../state/runtime-settings';
import { SubmitLog } from '../submits/submit-log';
import type { SubmitRecord } from '../submits/submit-record';

export interface CountersView {
  /** Sessions bound now. */
  binds: Record<BindMode, number>;
  bindsAccepted: number;
  bindsRejected: number;
  unbinds: number;
  submits: number;
  throttled: number;
  throttledByWindow: number;
  submitsRejected: number;
  receipts: {
    /** deliver_sm sent for receipts, resends included. */
    sent: number;
    resent: number;
    acked: number;
    /** Given up after the last attempt. */
    failed: number;
    /** Not acknowledged yet: waiting for their delay, queued, or sent and unanswered. */
    pending: number;
    /** Due but waiting for a receiver bind of their system. */
    queued: number;
  };
  mo: { messages: number; segments: number; acked: number; failed: number };
  enquireLinks: number;
  errors: number;
}

/** Everything the control API can do, also handed to in-process users of `startSimulator`. */
@Injectable()
export class SimulatorControl {
  constructor(
    private readonly mo: MoService,
    private readonly receipts: ReceiptService,
    private readonly registry: SessionRegistry,
    private readonly counters: SimulatorCounters,
    private readonly settings: SettingsStore,
    private readonly submitLog: SubmitLog,
    private readonly random: RandomSource,
  ) {}

  /** Throws MoInputError (bad text or options) or NoReceiverError. */
  injectMo(request: MoRequest): MoResult {
    return this.mo.inject(request);
  }

  injectMoBatch(requests: MoRequest[]): MoResult[] {
    return this.mo.injectAll(requests);
  }

  getCounters(): CountersView {
    const c = this.counters.values;
    return {
      binds: this.registry.bindCounts(),
      bindsAccepted: c.bindsAccepted,
      bindsRejected: c.bindsRejected,
      unbinds: c.unbinds,
      submits: c.submits,
      throttled: c.throttled,
      throttledByWindow: c.throttledByWindow,
      submitsRejected: c.submitsRejected,
      receipts: {
        sent: c.receiptsSent,
        resent: c.receiptsResent,
        acked: c.receiptsAcked,
        failed: c.receiptsFailed,
        ...this.receipts.pendingCounts(),
      },
      mo: { messages: c.moMessages, segments: c.moSegments, acked: c.moAcked, failed: c.moFailed },
      enquireLinks: c.enquireLinks,
      errors: c.errors,
    };
  }

  /** Newest last. */
  getSubmits(limit = 100, destinationAddr?: string): SubmitRecord[] {
    return this.submitLog.list(limit, destinationAddr);
  }

  getRules(): ReceiptRule[] {
    return this.receipts.getRules();
  }

  setRules(rules: ReceiptRule[]): void {
    this.receipts.setRules(rules);
  }

  getSettings(): RuntimeSettings {
    return { ...this.settings.current };
  }

  updateSettings(patch: Partial<RuntimeSettings>): RuntimeSettings {
    return { ...this.settings.update(patch) };
  }

  /** Clears counters, recorded submits, rules and pending receipts; settings and binds stay. */
  reset(): void {
    this.counters.reset();
    this.submitLog.clear();
    this.receipts.setRules([]);
    this.receipts.clear();
    this.random.reseed();
  }
}
