import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ReceiptService } from '../receipts/receipt.service';
import type { EsmeSession } from '../smpp/esme-session';
import { Status } from '../smpp/protocol';
import { describeContent, parseSubmitSm, type SubmitSm } from '../smpp/submit-sm';
import { SimulatorCounters } from '../state/counters';
import { SettingsStore } from '../state/runtime-settings';
import { allocateMessageId } from './message-id';
import { SlidingSecondLimiter } from './rate-limiter';
import { SubmitLog } from './submit-log';
import type { SubmitRecord } from './submit-record';

/**
 * Answers submit_sm. Over the session's window or the system's TPS the answer is
 * ESME_RTHROTTLED (0x58), what most SMSCs send for both: it tells the ESME to slow down and retry
 * the same message, where ESME_RMSGQFUL would suggest the SMSC itself is full.
 */
@Injectable()
export class SubmitService implements OnApplicationShutdown {
  private readonly limiters = new Map<string, SlidingSecondLimiter>();
  private readonly delayedAnswers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly settings: SettingsStore,
    private readonly log: SubmitLog,
    private readonly receipts: ReceiptService,
    private readonly counters: SimulatorCounters,
  ) {}

  onApplicationShutdown(): void {
    for (const t of this.delayedAnswers) clearTimeout(t);
    this.delayedAnswers.clear();
  }

  /** `session` is bound as transmitter or transceiver. Throws MalformedPduError on a broken body. */
  handle(session: EsmeSession, frame: Buffer, sequenceNumber: number): void {
    const sm = parseSubmitSm(frame);
    const systemId = session.systemId ?? '';
    const { window, tps, responseDelayMs } = this.settings.current;
    const answer = (status: number, fields: Record<string, unknown> = {}): void =>
      session.respond('submit_sm_resp', sequenceNumber, status, fields);

    if (session.unansweredSubmits >= window) {
      this.counters.throttled('window');
      return answer(Status.ESME_RTHROTTLED);
    }
    if (tps > 0 && !this.limiter(systemId).tryAcquire(Date.now(), tps)) {
      this.counters.throttled('tps');
      return answer(Status.ESME_RTHROTTLED);
    }
    if (sm.destinationAddr === '') {
      this.counters.submitRejected();
      return answer(Status.ESME_RINVDSTADR);
    }

    const receivedAt = new Date();
    const accept = (): void => {
      // An ESME that left before its answer never learnt the message was taken: it will submit again.
      if (session.closed) return;
      const ids = allocateMessageId(this.settings.current.idFormat);
      answer(Status.ESME_ROK, { message_id: ids.messageId });
      this.counters.submitAccepted();
      const record = toRecord(sm, { ...ids, systemId, sessionId: session.id, receivedAt });
      record.receipt = this.receipts.schedule(record);
      this.log.add(record);
    };

    if (responseDelayMs === 0) return accept();
    session.unansweredSubmits++;
    const timer = setTimeout(() => {
      this.delayedAnswers.delete(timer);
      session.unansweredSubmits--;
      accept();
    }, responseDelayMs);
    this.delayedAnswers.add(timer);
  }

  private limiter(systemId: string): SlidingSecondLimiter {
    let limiter = this.limiters.get(systemId);
    if (!limiter) {
      limiter = new SlidingSecondLimiter();
      this.limiters.set(systemId, limiter);
    }
    return limiter;
  }
}

interface RecordContext {
  messageId: string;
  receiptId: string;
  systemId: string;
  sessionId: number;
  receivedAt: Date;
}

function toRecord(sm: SubmitSm, ctx: RecordContext): SubmitRecord {
  const content = describeContent(sm);
  return {
    messageId: ctx.messageId,
    receiptId: ctx.receiptId,
    systemId: ctx.systemId,
    sessionId: ctx.sessionId,
    receivedAt: ctx.receivedAt.toISOString(),
    serviceType: sm.serviceType,
    sourceAddr: sm.sourceAddr,
    sourceAddrTon: sm.sourceAddrTon,
    sourceAddrNpi: sm.sourceAddrNpi,
    destinationAddr: sm.destinationAddr,
    destAddrTon: sm.destAddrTon,
    destAddrNpi: sm.destAddrNpi,
    esmClass: sm.esmClass,
    protocolId: sm.protocolId,
    priorityFlag: sm.priorityFlag,
    scheduleDeliveryTime: sm.scheduleDeliveryTime,
    validityPeriod: sm.validityPeriod,
    registeredDelivery: sm.registeredDelivery,
    dataCoding: sm.dataCoding,
    shortMessage: sm.shortMessage.toString('hex'),
    messagePayload: content.payload === sm.shortMessage ? null : content.payload.toString('hex'),
    udh: content.udh?.toString('hex') ?? null,
    text: content.text,
    concat: content.concat,
    sar: content.sar,
    messageClass: content.messageClass,
    destAddrSubunit: content.destAddrSubunit,
    flash: content.flash,
    tlvs: sm.tlvs.map((t) => ({ tag: `0x${t.tag.toString(16).padStart(4, '0')}`, value: t.value.toString('hex') })),
    receipt: null,
  };
}
