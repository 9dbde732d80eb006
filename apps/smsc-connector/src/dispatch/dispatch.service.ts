import { Inject, Injectable, Logger } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import { failSpan, inMessageSpan, MESSAGE_ID_ATTRIBUTE, startStepSpan, tracing } from '@smsgw/common';
import { ExtStatus, MessageStatus, type MtDispatchMessage } from '@smsgw/contracts';
import { buildMessageSegments, mapSubmitError, normalizeSmscId, smppAbsoluteTime, type SubmitSegment } from '@smsgw/sms';
import { backoffDelay } from '../backoff';
import { PartnerCallbacks } from '../callbacks/partner-callbacks.service';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { TemporaryError } from '../errors';
import { concatReference } from './concat-reference';
import { type DispatchMessage, MessageStore } from '../messages/message-store';
import { InboundService } from '../inbound/inbound.service';
import { connectorMetrics } from '../metrics';
import { ParkedReceiptMatcher } from '../receipts/parked-receipt-matcher.service';
import { ReceiptService } from '../receipts/receipt.service';
import { destinationAddress, type SmppAddress, sourceAddress } from '../smpp/addresses';
import { SmscRegistry } from '../smsc/smsc-registry.service';
import { SimulatedOperator } from '../test-mode/simulated-operator.service';

/** What the worker does with the job: done, or run it again at `at` (epoch ms). */
export type DispatchResult = { kind: 'done' } | { kind: 'retry'; at: number; reason: string };

const DONE: DispatchResult = { kind: 'done' };

/**
 * Why a segment about to be sent may be with the SMSC already (the label of
 * smsgw_mt_resubmitted_total): the connector that sent it died before recording the answer, or
 * its submit_sm got no answer (or the answer could not be recorded).
 */
type ResubmitReason = 'crash' | 'unanswered';

/** How a run here ended that left segments unsent: with one in doubt, or with none ('clear'). */
type RunEnd = ResubmitReason | 'clear';

/** Messages whose last run ended here remembered, at most (a retry usually comes within a minute). */
const RUN_END_MEMORY = 10_000;

/**
 * Hands one stored message to an SMSC (or to the simulated operator for test traffic).
 *
 * The message is claimed (1 → 0) only once a bound connection has given a window slot and a
 * TPS token, so it stays cancellable while it waits. Each accepted segment is recorded in
 * message_part before the next is sent; a run after a temporary failure sends only the segments
 * not recorded. Anything temporary (no bind, throttling, SMSC faults, timeouts, database
 * hiccups) is retried with backoff until valid_until, then the message ends 5 / 16.
 *
 * A run that finds the message claimed with segments missing resumes it. Unless this process saw
 * the last run end with nothing in doubt, the first missing segment may be with the SMSC already
 * (the connector died after writing it, or its submit_sm got no answer): parked receipts are
 * matched by content first (ParkedReceiptMatcher), and a segment then sent again is counted in
 * smsgw_mt_resubmitted_total, since the subscriber may get it twice.
 */
@Injectable()
export class DispatchService {
  private readonly log = new Logger(DispatchService.name);
  private readonly inProgress = new Set<string>();
  /** How the last run here of a message still missing segments ended; none known: another process's run. */
  private readonly runEnds = new Map<string, RunEnd>();

  constructor(
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly store: MessageStore,
    private readonly registry: SmscRegistry,
    private readonly receipts: ReceiptService,
    private readonly parked: ParkedReceiptMatcher,
    private readonly simulated: SimulatedOperator,
    private readonly callbacks: PartnerCallbacks,
    private readonly inbound: InboundService,
  ) {}

  /** `attempt`: runs of this message so far, this one included (1 on the first). */
  async dispatch(job: MtDispatchMessage, attempt: number): Promise<DispatchResult> {
    // The same message in two jobs at once (a batch added twice, the outbox sweep's single job
    // for a message still waiting in its batch): the second must not resume what the first is
    // sending (status 0, segments not recorded yet). The run in progress finishes it or hands it
    // to a job of its own.
    if (this.inProgress.has(job.messageId)) {
      connectorMetrics.dispatched.inc({ outcome: 'skipped' });
      return DONE;
    }
    this.inProgress.add(job.messageId);
    try {
      if (!job.traceparent) return await this.load(job, attempt);
      // With tracing on and the message sampled: a span of its trace for this run.
      return await inMessageSpan('sms.dispatch', job.traceparent, { messageId: job.messageId, attributes: { 'smsgw.attempt': attempt } }, async (span) => {
        const result = await this.load(job, attempt);
        if (span && result.kind === 'retry') span.setAttribute('smsgw.retry_reason', result.reason);
        return result;
      });
    } finally {
      this.inProgress.delete(job.messageId);
    }
  }

  private async load(job: MtDispatchMessage, attempt: number): Promise<DispatchResult> {
    let message: DispatchMessage | null = null;
    try {
      message = await this.store.loadForDispatch(job.messageId);
      if (!message) {
        this.log.warn(`message ${job.messageId} does not exist; dropping its job`);
        connectorMetrics.dispatched.inc({ outcome: 'skipped' });
        return DONE;
      }
      return await this.handle(message);
    } catch (e) {
      return this.retryLater(job.messageId, message, attempt, e as Error);
    }
  }

  private async handle(m: DispatchMessage): Promise<DispatchResult> {
    switch (m.status) {
      case MessageStatus.ACCEPTED:
        break;
      case MessageStatus.SUBMITTED:
        // Claimed by an earlier run: go on with the segments it did not get out, if any.
        if (m.simulated || m.handedOver.size >= m.segments) {
          // Handed over in full: a re-run after a crash re-sends the status-0 report it may have missed.
          if (!m.simulated && m.wantsIntermediate) await this.callbacks.deliveryReport(m.id, m.partnerId, MessageStatus.SUBMITTED);
          connectorMetrics.dispatched.inc({ outcome: 'skipped' });
          return DONE;
        }
        break;
      case MessageStatus.UNDELIVERED:
        // Ended by this service (rejected, expired): a re-run after a crash re-sends the report.
        if (m.wantsDlr && (m.extStatus === ExtStatus.REJECTED_AT_SUBMISSION || m.extStatus === ExtStatus.EXPIRED_IN_PLATFORM)) {
          await this.callbacks.deliveryReport(m.id, m.partnerId, MessageStatus.UNDELIVERED);
        }
        connectorMetrics.dispatched.inc({ outcome: 'skipped' });
        return DONE;
      default:
        // Cancelled, delivered: nothing to do; a job run twice changes nothing.
        connectorMetrics.dispatched.inc({ outcome: 'skipped' });
        return DONE;
    }

    let resend: ResubmitReason | null = null;
    if (m.status === MessageStatus.SUBMITTED) {
      const resumed = await this.resume(m);
      if (resumed === 'accounted') return DONE;
      resend = resumed;
    }

    if (m.validUntil.getTime() <= Date.now()) return this.expire(m);

    if (m.simulated) {
      const handed = await this.simulated.handOver(m);
      connectorMetrics.dispatched.inc({ outcome: handed ? 'test_simulated' : 'cancelled' });
      return DONE;
    }
    return this.submit(m, resend);
  }

  /**
   * A message claimed for an SMSC by a run that did not finish. Returns why its first missing
   * segment may be with the SMSC already (null: it is not), or 'accounted' when receipts parked
   * for its missing segments stand for them and nothing is to be sent.
   */
  private async resume(m: DispatchMessage): Promise<ResubmitReason | null | 'accounted'> {
    const last = this.runEnds.get(m.id);
    if (last === 'clear' || m.smscConnectionId === null) {
      this.runEnds.delete(m.id);
      return null;
    }
    // The SMSC may have taken the segment and sent its receipt, parked for want of its id.
    const matched = await this.parked.matchFor({ id: m.id, msisdn: m.msisdn, smscConnectionId: m.smscConnectionId });
    for (const seq of matched) m.handedOver.add(seq);
    // A receipt stood for the segment in doubt (now, or in the periodic sweep): the others were never sent.
    const recovered = this.parked.takeRecovered(m.id);
    this.runEnds.delete(m.id);
    if (m.handedOver.size < m.segments) return recovered ? null : (last ?? 'crash');

    this.log.warn(`message ${m.id}: its missing segments were taken by the SMSC before ${last ? 'the last run ended' : 'a crash'}, as their receipts say; nothing sent again`);
    connectorMetrics.dispatched.inc({ outcome: 'submitted' });
    if (m.wantsIntermediate) {
      // The status-0 report the interrupted run did not get to, unless the receipts made it final.
      const now = await this.store.loadForDispatch(m.id);
      if (now?.status === MessageStatus.SUBMITTED) await this.callbacks.deliveryReport(m.id, m.partnerId, MessageStatus.SUBMITTED);
    }
    return 'accounted';
  }

  /** `resend`: the first segment sent may be with the SMSC already, for that reason. */
  private async submit(m: DispatchMessage, resend: ResubmitReason | null): Promise<DispatchResult> {
    // A part a partner sent of its own concatenated message goes as one segment with its header;
    // 8-bit data with its stored data_coding, its octets as they came (its own UDH kept, if any).
    const segments = buildMessageSegments(m, concatReference(m.id));
    if (segments.length !== m.segments) {
      this.log.warn(`message ${m.id}: stored with ${m.segments} segment(s), encodes to ${segments.length}`);
    }
    const source = sourceAddress(m.sender);
    const destination = destinationAddress(m.msisdn);
    let claimed = m.status === MessageStatus.SUBMITTED;
    // A submit_sm written whose acceptance is not recorded: the SMSC may have the segment.
    let inDoubt = false;

    try {
      for (const segment of segments) {
        if (m.handedOver.has(segment.seq)) continue;
        const link = this.registry.pick(m.msisdn, m.smscConnectionId);
        const slot = await link.acquire(m.priority, m.handedOver.size > 0);
        if (!claimed) {
          const won = await this.store.claim(m.id, link.id).catch((e: Error) => {
            slot.release();
            throw e;
          });
          if (!won) {
            slot.release();
            connectorMetrics.dispatched.inc({ outcome: 'cancelled' });
            return DONE;
          }
          claimed = true;
          m.smscConnectionId = link.id;
        }
        inDoubt = true;
        const span = tracing.on ? startStepSpan('smpp submit_sm', { [MESSAGE_ID_ATTRIBUTE]: m.id, 'smsgw.segment': segment.seq, 'smsgw.smsc_connection': link.name }, SpanKind.CLIENT) : undefined;
        const result = await link.submit(slot, this.submitSm(m, segment, source, destination));
        if (span) {
          span.setAttribute('smsgw.submit_result', result.kind);
          if (result.kind === 'accepted') span.setAttribute('smsgw.smsc_message_id', result.smscMessageId);
          else failSpan(span, result.kind === 'rejected' ? `command_status ${result.commandStatus}` : result.reason);
          span.end();
        }
        // Counted once the SMSC may have it twice: taken, or written and not answered.
        if (resend && (result.kind === 'accepted' || (result.kind === 'unanswered' && result.reason !== 'unsent'))) {
          connectorMetrics.resubmitted.inc({ reason: resend });
          this.log.warn(
            `message ${m.id}: segment ${segment.seq} sent again; the SMSC may have had it already (${resend === 'crash' ? 'a connector died before recording its answer' : 'its submit_sm got no answer'}): the subscriber may get it twice`,
          );
          resend = null;
        }

        if (result.kind === 'accepted') {
          const smscMessageId = normalizeSmscId(result.smscMessageId);
          try {
            await this.store.recordPart(m.id, segment.seq, link.id, smscMessageId);
          } catch (e) {
            // The SMSC has the segment: sending it again would reach the subscriber twice. The
            // journal records it (and applies its parked receipts) once PostgreSQL is back.
            this.log.warn(`message ${m.id} segment ${segment.seq}: not recorded (${(e as Error).message}); journaled`);
            await this.inbound.journalPart({ messageId: m.id, seq: segment.seq, smscConnectionId: link.id, smscMessageId });
            inDoubt = false;
            m.handedOver.add(segment.seq);
            continue;
          }
          inDoubt = false;
          m.handedOver.add(segment.seq);
          // Its receipt may have come already (before the response, or while we were recording).
          await this.receipts.applyParked(link.id, smscMessageId, m.id, segment.seq);
          continue;
        }
        const nothingHandedOver = m.handedOver.size === 0;
        if (result.kind === 'rejected') {
          inDoubt = false;
          const error = mapSubmitError(result.commandStatus);
          if (error.kind === 'permanent') return this.reject(m, `${link.name} answered ${error.name}`);
          // The SMSC took nothing: the platform holds the message again (and /cancel works).
          if (nothingHandedOver) await this.store.releaseClaim(m.id);
          throw new TemporaryError(`${link.name} answered ${error.name}`, error.name === 'ESME_RTHROTTLED' ? 'throttled' : 'smsc_temporary');
        }
        // A submit written but not answered may have been taken: the claim stays (no /cancel of a
        // message that may be on its way), and the retry sends the segment again.
        if (result.reason === 'unsent') {
          inDoubt = false;
          if (nothingHandedOver) await this.store.releaseClaim(m.id);
        }
        throw new TemporaryError(`${link.name}: submit_sm ${result.reason === 'timeout' ? 'not answered in time' : 'lost with the connection'}`, result.reason);
      }
    } catch (e) {
      // For the next run (here, usually): whether its first segment may be a resubmission.
      if (claimed) this.noteRunEnd(m.id, inDoubt ? 'unanswered' : (resend ?? 'clear'));
      throw e;
    }

    connectorMetrics.dispatched.inc({ outcome: 'submitted' });
    if (m.wantsIntermediate) await this.callbacks.deliveryReport(m.id, m.partnerId, MessageStatus.SUBMITTED);
    return DONE;
  }

  private noteRunEnd(messageId: string, end: RunEnd): void {
    this.runEnds.delete(messageId);
    if (this.runEnds.size >= RUN_END_MEMORY) this.runEnds.delete(this.runEnds.keys().next().value!);
    this.runEnds.set(messageId, end);
  }

  private submitSm(m: DispatchMessage, segment: SubmitSegment, source: SmppAddress, destination: SmppAddress): Record<string, unknown> {
    return {
      service_type: '',
      source_addr_ton: source.ton,
      source_addr_npi: source.npi,
      source_addr: source.addr,
      dest_addr_ton: destination.ton,
      dest_addr_npi: destination.npi,
      destination_addr: destination.addr,
      esm_class: segment.esmClass,
      protocol_id: 0,
      // GSM: 0 normal, anything else "priority". High (2) asks for it; normal and low do not.
      priority_flag: m.priority === 2 ? 1 : 0,
      schedule_delivery_time: '',
      validity_period: smppAbsoluteTime(m.validUntil),
      // A receipt for every final outcome, success or failure.
      registered_delivery: 1,
      replace_if_present_flag: 0,
      data_coding: segment.dataCoding,
      sm_default_msg_id: 0,
      short_message: segment.shortMessage,
    };
  }

  /** A permanent submit error: 5 / 15 (rejected by the operator at submission). */
  private async reject(m: DispatchMessage, why: string): Promise<DispatchResult> {
    this.log.warn(`message ${m.id} rejected: ${why}`);
    const finished = await this.store.finish(m.id, MessageStatus.UNDELIVERED, ExtStatus.REJECTED_AT_SUBMISSION, [MessageStatus.SUBMITTED]);
    if (finished?.wantsDlr) await this.callbacks.deliveryReport(m.id, finished.partnerId, MessageStatus.UNDELIVERED);
    connectorMetrics.dispatched.inc({ outcome: 'permanent_error' });
    return DONE;
  }

  /** Validity over before the message was handed over: 5 / 16. */
  private async expire(m: DispatchMessage): Promise<DispatchResult> {
    const finished = await this.store.expireUnsent(m.id, ExtStatus.EXPIRED_IN_PLATFORM);
    if (finished?.wantsDlr) await this.callbacks.deliveryReport(m.id, finished.partnerId, MessageStatus.UNDELIVERED);
    connectorMetrics.dispatched.inc({ outcome: finished ? 'expired' : 'skipped' });
    return DONE;
  }

  /**
   * The next run: exponential backoff with jitter, but never past valid_until, so the run that
   * finds the validity over is the one that ends the message.
   */
  private retryLater(messageId: string, m: DispatchMessage | null, attempt: number, error: Error): DispatchResult {
    const reason = error instanceof TemporaryError ? error.reason : 'error';
    if (error instanceof TemporaryError) this.log.debug(`message ${messageId}: ${error.message}; retrying`);
    else this.log.error(`message ${messageId}: ${error.stack ?? error.message}; retrying`);
    connectorMetrics.retries.inc({ reason });
    const now = Date.now();
    let at = now + backoffDelay(attempt - 1, this.config.CONNECTOR_RETRY_BASE_MS, this.config.CONNECTOR_RETRY_MAX_MS);
    if (m && at > m.validUntil.getTime()) at = Math.max(m.validUntil.getTime() + 1, now + 50);
    return { kind: 'retry', at, reason };
  }
}
