import { Inject, Injectable, Logger } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import { annotateMessageSpan, inMessageSpan, tracing } from '@smsgw/common';
import type { Job } from 'bullmq';
import type { Queue } from 'bullmq';
import { dlrJobOptions, enqueueBulk, isDeliveryReportBatch, MessageStatus, parseJob, QUEUES, type DeliveryReport, type SmppRelayItem, type TypedJob } from '@smsgw/contracts';
import { appendCallbackParams, callbackPathAndQuery, signCallback, type CallbackParams } from '@smsgw/sms';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { CallbackLog, type CallbackRecord } from '../delivery/callback-log.service';
import { boundMetrics, callbackDeferred } from '../delivery/callback-metrics';
import { deferJob } from '../delivery/defer';
import { HttpSender, type HttpOutcome } from '../delivery/http-sender.service';
import { SmppRelay } from '../delivery/smpp-relay.service';
import { PartnerGate } from '../delivery/partner-gate.service';
import { nextRetry, type RetrySettings } from '../delivery/retry-policy';
import { PartnerSettings, type CallbackPartner } from '../partners/partner-settings.service';
import { FAULT_RETRY_MS } from '../delivery/queue-worker';
import { CALLBACK_DLR_QUEUE } from '../infra/tokens';
import { ReportLoader, type ReportRow } from './report-loader.service';
import { ReportSlots } from './report-slots';

const metrics = boundMetrics('dlr');

/** A report to try again at `at` (ms), and why (the label of smsgw_callback_deferred_total). */
interface Deferral {
  at: number;
  reason: string;
}

/** Delivery reports (PROTOCOL §5): one GET per message and status to the partner's status URL. */
@Injectable()
export class DlrService {
  private readonly logger = new Logger(DlrService.name);
  private readonly retry: RetrySettings;
  /** Reports being delivered in this instance, by message and status. */
  private readonly running = new Map<string, Promise<Deferral | null>>();

  constructor(
    private readonly partners: PartnerSettings,
    private readonly reports: ReportLoader,
    private readonly gate: PartnerGate,
    private readonly http: HttpSender,
    private readonly relay: SmppRelay,
    private readonly log: CallbackLog,
    private readonly slots: ReportSlots,
    @Inject(CALLBACK_DLR_QUEUE) private readonly queue: Queue,
    @Inject(CALLBACK_CONFIG) config: CallbackConfig,
  ) {
    this.retry = { firstMs: config.CALLBACK_RETRY_FIRST_MS, maxMs: config.CALLBACK_RETRY_MAX_MS, horizonMs: config.CALLBACK_RETRY_HORIZON_MS };
  }

  /**
   * One run of a `callback.dlr` job. A single report returns when it is delivered, parked or has
   * nothing to do; otherwise the job is put back as delayed (retry, partner busy, breaker open).
   * A batch runs each of its reports the same way, at once (each in a slot of ReportSlots); a
   * report that would be put back gets its own single job `d<id>-<status>`, due then, and the
   * batch job completes once every report is settled or handed over.
   */
  async handle(job: Job, token: string): Promise<void> {
    const data = parseJob(QUEUES.CALLBACK_DLR, job.data);
    const reports = isDeliveryReportBatch(data) ? data.reports : [data];
    this.slots.jobStarted(reports.length);
    try {
      if (!isDeliveryReportBatch(data)) {
        const deferral = await this.slots.run(() => this.deliver(data, job.timestamp));
        if (deferral) return await deferJob(job, token, deferral.at, 'dlr', deferral.reason);
        return;
      }
      await this.handleBatch(job, data.reports);
    } finally {
      this.slots.jobEnded();
    }
  }

  /**
   * A fault (PostgreSQL or Redis failing) for one report hands it to its own job, due after
   * FAULT_RETRY_MS, like a single job's fault. If the hand-over itself fails (Redis down), the
   * whole batch job fails and QueueWorker puts it back: its re-run finds the reports already
   * delivered (ReportLoader) or scheduled, and redoes only the rest.
   */
  private async handleBatch(job: Job, reports: DeliveryReport[]): Promise<void> {
    const handovers: TypedJob<typeof QUEUES.CALLBACK_DLR>[] = [];
    const reasons: string[] = [];
    await Promise.all(
      reports.map(async (report) => {
        let deferral: Deferral | null;
        try {
          deferral = await this.slots.run(() => this.deliver(report, job.timestamp));
        } catch (e) {
          this.logger.error(`report ${report.messageId}/${report.status} of job ${job.id}: ${(e as Error).message}; trying again in ${FAULT_RETRY_MS / 1000} s`);
          deferral = { at: Date.now() + FAULT_RETRY_MS + Math.floor(Math.random() * FAULT_RETRY_MS), reason: 'fault' };
        }
        if (!deferral) return;
        // The batch's timestamp stays the report's: the retry horizon of a report never attempted runs from it.
        handovers.push({ data: report, opts: { ...dlrJobOptions(report.messageId, report.status), timestamp: job.timestamp, delay: Math.max(1, deferral.at - job.timestamp) } });
        reasons.push(deferral.reason);
      }),
    );
    if (handovers.length === 0) return;
    await enqueueBulk(this.queue, QUEUES.CALLBACK_DLR, handovers);
    for (const reason of reasons) callbackDeferred.inc({ kind: 'dlr', reason });
  }

  /**
   * One report, never twice at once in this instance: two jobs of one report (a batch and its
   * report queued again: a receipt applied again after a crash, the outbox sweep) would each find
   * it not delivered yet and both push it. The second waits for the first, then finds it delivered.
   */
  private async deliver(data: DeliveryReport, queuedAt: number): Promise<Deferral | null> {
    const key = `${data.messageId}:${data.status}`;
    for (let other = this.running.get(key); other; other = this.running.get(key)) await other.catch(() => undefined);
    // With tracing on and the message sampled: a span of its trace for this attempt.
    const run = !data.traceparent ? this.deliverOnce(data, queuedAt) : inMessageSpan('sms.callback', data.traceparent, { messageId: data.messageId, kind: SpanKind.PRODUCER, attributes: { 'smsgw.callback_kind': 'dlr', 'smsgw.status': data.status } }, async (span) => {
      const deferral = await this.deliverOnce(data, queuedAt);
      if (span && deferral) span.setAttribute('smsgw.deferred', deferral.reason);
      return deferral;
    });
    this.running.set(key, run);
    try {
      return await run;
    } finally {
      if (this.running.get(key) === run) this.running.delete(key);
    }
  }

  /**
   * One report: partner, report state, gate, request, record. Null when it is done with (delivered,
   * parked, nothing to do), else when and why it must be tried again.
   */
  private async deliverOnce(data: DeliveryReport, queuedAt: number): Promise<Deferral | null> {
    const partner = await this.partners.get(data.partnerId);
    if (!partner?.statusUrl) return this.skip(data, partner ? 'the partner has no status URL' : 'unknown partner');
    if (data.status === MessageStatus.SUBMITTED && !partner.intermediateReports) return this.skip(data, null);
    // A partner with a full line of reports waiting here: back to the queue before reading the message.
    const early = partner.statusUrl.ok ? await this.gate.deferEarly('dlr', partner.id, partner.concurrency) : null;
    if (early !== null) return { at: Date.now() + early, reason: 'busy' };
    const report = await this.reports.load(data.messageId, data.status);
    if (!report) return this.skip(data, 'unknown message');
    if (report.partnerId !== partner.id) return this.skip(data, `the message belongs to partner ${report.partnerId}`);
    if (report.state === 'delivered' || report.state === 'parked') return null; // a repeated job: nothing left to do
    if (!reportWanted(report.registeredDelivery, data.status)) return this.skip(data, null);

    const now = Date.now();
    // The horizon runs from when the report became due (the job's creation), or from a re-send.
    const dueAt = report.dueAt ?? new Date(Math.min(queuedAt, now));
    // Taken over from a crashed instance, or re-enqueued by the sweep: keep the retry schedule.
    if (report.nextAttemptAt && report.nextAttemptAt.getTime() > now + 1000) return { at: report.nextAttemptAt.getTime(), reason: 'retry' };

    const target = partner.statusUrl;
    if (!target.ok) {
      // An operator's typo: retried like an unreachable partner until fixed, then parked.
      metrics.attempt.invalid_url.inc();
      const outcome: HttpOutcome = { ok: false, httpStatus: null, error: `invalid status URL: ${target.error}`, durationMs: 0, contentType: null, body: null, bodyTruncated: false };
      return this.settle(data, report, dueAt, target.raw, outcome);
    }
    const url = target.smpp ? target.base : appendCallbackParams(target.base, this.params(data, report), partner.paramNames);

    const gate = await this.gate.acquire('dlr', partner.id, partner.concurrency);
    if (!gate.granted) {
      if (now >= dueAt.getTime() + this.retry.horizonMs) {
        await this.park(data, report, dueAt, `not attempted: partner ${gate.reason}`);
        return null;
      }
      // Held by the breaker, without an attempt (so without a callback row): noted, so that the
      // partner's next SMPP bind can bring it at once (SmppWake).
      if (target.smpp && gate.reason !== 'busy') await this.gate.hold(partner.id, data.messageId, data.status);
      return { at: Date.now() + gate.retryInMs, reason: gate.reason };
    }
    let outcome: HttpOutcome;
    metrics.inFlight.inc();
    try {
      outcome = target.smpp
        ? await this.relay.send(partner.id, this.receipt(data, report))
        : await this.http.send(`dlr:${partner.id}`, partner.concurrency, url, { partnerId: partner.id, headers: this.headers(partner, url) });
    } catch (e) {
      await this.gate.release(gate.lease, false, 0);
      throw e;
    } finally {
      metrics.inFlight.dec();
    }
    // The slot goes back to Redis while the attempt is recorded, not before: an acknowledged push
    // reaches the journal in this very task, so that a kill -9 a few ms after the partner's answer
    // does not make the push again.
    const released = this.gate.release(gate.lease, outcome.ok, outcome.durationMs).then(
      () => null,
      (e: unknown) => e,
    );
    metrics.attempt[outcomeLabel(outcome)].inc();
    metrics.duration.observe(outcome.durationMs / 1000);
    let settled: Deferral | null;
    try {
      // The log shows the partner's own query redacted; the parameters appended are never secret.
      settled = await this.settle(data, report, dueAt, target.redacted + url.slice(target.base.length), outcome);
    } catch (e) {
      await released;
      throw e;
    }
    const failed = await released;
    if (failed) throw failed;
    return settled;
  }

  /** Records the attempt; null when the report is done with (delivered, parked), else its retry. */
  private async settle(data: DeliveryReport, report: ReportRow, dueAt: Date, loggedUrl: string, outcome: HttpOutcome): Promise<Deferral | null> {
    const attempt = report.attempts + 1;
    const attemptedAt = new Date(Date.now() - outcome.durationMs);
    if (tracing.on) {
      annotateMessageSpan({ 'smsgw.attempt': attempt, 'smsgw.callback_url': loggedUrl, ...(outcome.httpStatus === null ? {} : { 'http.response.status_code': outcome.httpStatus }) }, outcome.ok ? undefined : (outcome.error ?? `HTTP ${outcome.httpStatus}`));
    }
    const base = {
      kind: 'dlr' as const,
      hasRow: report.state !== null,
      partnerId: report.partnerId,
      messageId: data.messageId,
      status: data.status,
      moId: null,
      attempt: { attempt, attemptedAt, url: loggedUrl, httpStatus: outcome.httpStatus, error: outcome.error, durationMs: outcome.durationMs },
      attempts: attempt,
      dueAt,
      lastResult: outcome.error ?? String(outcome.httpStatus),
    };
    if (outcome.ok) {
      await this.log.record({ ...base, state: 'delivered', nextAttemptAt: null });
      metrics.delivered.inc();
      return null;
    }
    const decision = nextRetry(attempt, dueAt.getTime(), Date.now(), this.retry);
    if (decision.action === 'park') {
      await this.log.record({ ...base, state: 'parked', nextAttemptAt: null });
      metrics.parked.inc();
      this.logger.warn(`report ${data.messageId}/${data.status} to partner ${report.partnerId} parked after ${attempt} attempts: ${base.lastResult}`);
      return null;
    }
    await this.log.record({ ...base, state: 'pending', nextAttemptAt: new Date(decision.at) });
    return { at: decision.at, reason: 'retry' };
  }

  private async park(data: DeliveryReport, report: ReportRow, dueAt: Date, reason: string): Promise<void> {
    const record: CallbackRecord = {
      kind: 'dlr',
      hasRow: report.state !== null,
      partnerId: report.partnerId,
      messageId: data.messageId,
      status: data.status,
      moId: null,
      attempt: null,
      state: 'parked',
      attempts: report.attempts,
      dueAt,
      nextAttemptAt: null,
      lastResult: reason,
    };
    await this.log.record(record);
    metrics.parked.inc();
    this.logger.warn(`report ${data.messageId}/${data.status} to partner ${report.partnerId} parked: ${reason}`);
  }

  private skip(data: DeliveryReport, why: string | null): null {
    if (why) this.logger.warn(`report ${data.messageId}/${data.status} for partner ${data.partnerId} not sent: ${why}`);
    metrics.skipped.inc();
    return null;
  }

  /** PROTOCOL §5, in this order; ptag and partnerMsgId only when the message had them. */
  private params(data: DeliveryReport, r: ReportRow): CallbackParams {
    return [
      ['transactionId', data.messageId],
      ['status', data.status],
      ['msgType', 'SMS'],
      ['ptag', r.ptag],
      ['partnerMsgId', r.partnerMsgId],
      ['unifiedExtStatus', data.status === MessageStatus.UNDELIVERED ? (r.extStatus ?? 1) : null],
      ['segments', r.segments],
      ['doneDate', r.doneDate],
    ];
  }

  /** The report as a receipt over the partner's SMPP binds (docs/protocol.md, section 10). */
  private receipt(data: DeliveryReport, r: ReportRow): SmppRelayItem {
    return {
      kind: 'dlr',
      messageId: data.messageId,
      status: data.status,
      extStatus: r.extStatus,
      msisdn: r.msisdn,
      sender: r.sender,
      submitDate: r.createdAt.toISOString(),
      doneDate: `${r.doneDate.replace(' ', 'T')}Z`,
      text: r.text,
    };
  }

  private headers(partner: CallbackPartner, url: string): Record<string, string> | undefined {
    if (!partner.signingSecret) return undefined;
    return { 'x-signature': signCallback(partner.signingSecret, callbackPathAndQuery(url), Date.now() / 1000) };
  }
}

/**
 * Whether a submit_sm's registered_delivery asks for this report (null: the message came over
 * HTTP, every report goes): bits 0–1 give the final receipts (0 none, 1 all, 2 failures only),
 * bit 4 the intermediate ones (status 0).
 */
export function reportWanted(registeredDelivery: number | null, status: number): boolean {
  if (registeredDelivery === null) return true;
  if (status === MessageStatus.SUBMITTED) return (registeredDelivery & 0x10) !== 0;
  const finals = registeredDelivery & 0x03;
  return finals === 1 || (finals === 2 && status === MessageStatus.UNDELIVERED);
}

export function outcomeLabel(o: HttpOutcome): 'ok' | 'http_error' | 'timeout' | 'network' {
  if (o.ok) return 'ok';
  if (o.httpStatus !== null) return 'http_error';
  return o.error?.startsWith('timeout') ? 'timeout' : 'network';
}
