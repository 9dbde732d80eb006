import { Injectable } from '@nestjs/common';
import type { BindMode } from '../smpp/bind';
import { simulatorMetrics as metrics } from './metrics';

export interface CounterValues {
  bindsAccepted: number;
  bindsRejected: number;
  unbinds: number;
  /** submit_sm accepted (answered ESME_ROK). */
  submits: number;
  /** submit_sm answered ESME_RTHROTTLED, for either limit. */
  throttled: number;
  /** The part of `throttled` caused by the session's window rather than the TPS limit. */
  throttledByWindow: number;
  /** submit_sm refused for other reasons (bad destination, not bound as transmitter). */
  submitsRejected: number;
  receiptsSent: number;
  receiptsResent: number;
  receiptsAcked: number;
  receiptsFailed: number;
  moMessages: number;
  moSegments: number;
  moAcked: number;
  moFailed: number;
  enquireLinks: number;
  /** Malformed or unsupported PDUs from ESMEs, and deliver_sm answered with an error or not at all. */
  errors: number;
}

const zero = (): CounterValues => ({
  bindsAccepted: 0,
  bindsRejected: 0,
  unbinds: 0,
  submits: 0,
  throttled: 0,
  throttledByWindow: 0,
  submitsRejected: 0,
  receiptsSent: 0,
  receiptsResent: 0,
  receiptsAcked: 0,
  receiptsFailed: 0,
  moMessages: 0,
  moSegments: 0,
  moAcked: 0,
  moFailed: 0,
  enquireLinks: 0,
  errors: 0,
});

/** What happened since start or the last `POST /reset`; each event also feeds /metrics. */
@Injectable()
export class SimulatorCounters {
  private c = zero();

  get values(): Readonly<CounterValues> {
    return this.c;
  }

  reset(): void {
    this.c = zero();
  }

  bindAccepted(mode: BindMode): void {
    this.c.bindsAccepted++;
    metrics.binds.inc({ mode });
  }

  bindEnded(mode: BindMode): void {
    metrics.binds.dec({ mode });
  }

  bindRejected(): void {
    this.c.bindsRejected++;
    metrics.bindRejects.inc();
  }

  unbind(): void {
    this.c.unbinds++;
  }

  submitAccepted(): void {
    this.c.submits++;
    metrics.submits.inc();
  }

  throttled(reason: 'tps' | 'window'): void {
    this.c.throttled++;
    if (reason === 'window') this.c.throttledByWindow++;
    metrics.throttled.inc({ reason });
  }

  submitRejected(): void {
    this.c.submitsRejected++;
  }

  receiptSent(resend: boolean): void {
    this.c.receiptsSent++;
    if (resend) this.c.receiptsResent++;
    metrics.receiptsSent.inc();
  }

  receiptAcked(): void {
    this.c.receiptsAcked++;
    metrics.receiptsAcked.inc();
  }

  receiptFailed(): void {
    this.c.receiptsFailed++;
    metrics.receiptsFailed.inc();
  }

  moSent(segments: number): void {
    this.c.moMessages++;
    this.c.moSegments += segments;
    metrics.moSegments.inc(segments);
  }

  moAnswered(ok: boolean): void {
    if (ok) this.c.moAcked++;
    else this.c.moFailed++;
  }

  enquireLink(): void {
    this.c.enquireLinks++;
    metrics.enquireLinks.inc();
  }

  error(): void {
    this.c.errors++;
    metrics.errors.inc();
  }
}
