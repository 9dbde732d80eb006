import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import type { Pool } from 'pg';
import { moJobId, moJobOptions, parseJob, QUEUES, type CallbackMoJob } from '@smsgw/contracts';
import { appendCallbackParams, callbackPathAndQuery, formatCallbackDate, moCallbackHash, signCallback, type CallbackParams } from '@smsgw/sms';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { CallbackLog, type CallbackRecord, type CallbackState } from '../delivery/callback-log.service';
import { boundMetrics } from '../delivery/callback-metrics';
import { deferJob } from '../delivery/defer';
import { HttpSender, type HttpOutcome } from '../delivery/http-sender.service';
import { nextRetry, type RetrySettings } from '../delivery/retry-policy';
import { SmppRelay } from '../delivery/smpp-relay.service';
import { outcomeLabel } from '../dlr/dlr.service';
import { CALLBACK_MO_QUEUE, PG_POOL } from '../infra/tokens';
import { PartnerSettings, type CallbackPartner } from '../partners/partner-settings.service';
import { MoOrder } from './mo-order.service';
import { MoPump, type PageCursor, type PumpEnd, type PumpIo, type PushResult, type WaitingMo } from './mo-pump';
import { MoReplyWriter } from './mo-reply.service';
import { replyLines } from './reply-body';

/** The job's own MO: whether it still waits. */
interface OwnRow {
  partner_id: number | null;
  callback_done_at: Date | null;
  state: CallbackState | null;
}

const OWN_SQL = `SELECT m.partner_id, m.callback_done_at, c.state::text AS state FROM mo_message m LEFT JOIN callback c ON c.mo_id = m.id WHERE m.id = $1`;

/** The state of an MO's callback row (null: none, it never failed), by the unique index on mo_id. */
const CALLBACK_STATE = (alias: string) => `(SELECT p.state FROM callback p WHERE p.mo_id = ${alias}.id LIMIT 1)`;

/**
 * A page of the partner's MO not yet acknowledged nor parked, oldest first, after a cursor: the
 * partial index on (partner_id, received_at, id) WHERE callback_done_at IS NULL, read in order up
 * to the limit. mtSent of each is counted once per page: the MO of its line waiting after the
 * cursor (order per subscriber: one count per subscriber of the page, on the partial index with
 * msisdn; per partner: one count), less its rank among them in the page. Every lookup is by key
 * (LATERAL … LIMIT 1, a count gated to the first MO of each subscriber), so the plan stays the same
 * whatever the statistics say about the tables.
 */
function pageSql(perSubscriber: boolean): string {
  const waitingAfterCursor = (alias: string) =>
    `${alias}.partner_id = $1 AND ${alias}.callback_done_at IS NULL AND (${alias}.received_at, ${alias}.id) > ($2::timestamptz, $3::bigint) AND ${CALLBACK_STATE(alias)} IS DISTINCT FROM 'parked'`;
  const waiting = perSubscriber
    ? `max(n.n) OVER (PARTITION BY r.msisdn)`
    : `(SELECT count(*) FROM mo_message w WHERE ${waitingAfterCursor('w')})`;
  return `
WITH page AS MATERIALIZED (
  SELECT m.id, m.msisdn, m.service_number, m.text, m.segments, m.smsc_connection_id, m.received_at FROM mo_message m
  WHERE ${waitingAfterCursor('m')}
  ORDER BY m.received_at, m.id LIMIT $4
), ranked AS (
  SELECT page.*, c.state, c.attempts, c.due_at, c.next_attempt_at, row_number() OVER (${perSubscriber ? 'PARTITION BY page.msisdn ' : ''}ORDER BY page.received_at, page.id) AS rank
  FROM page LEFT JOIN LATERAL (SELECT state, attempts, due_at, next_attempt_at FROM callback WHERE mo_id = page.id LIMIT 1) c ON true
)
SELECT r.id::text AS id, r.msisdn, r.service_number, r.text, r.segments, r.smsc_connection_id, r.received_at,
  r.state::text AS state, r.attempts, r.due_at, r.next_attempt_at, (${waiting} - r.rank)::text AS behind
FROM ranked r${
    perSubscriber
      ? `
  LEFT JOIN LATERAL (SELECT count(*) AS n FROM mo_message w WHERE r.rank = 1 AND w.msisdn = r.msisdn AND ${waitingAfterCursor('w')}) n ON true`
      : ''
  }
ORDER BY r.received_at, r.id`;
}
const PARTNER_PAGE_SQL = pageSql(false);
const SUBSCRIBER_PAGE_SQL = pageSql(true);

const metrics = boundMetrics('mo');

/** How long a job waits for its MO row to be committed before it gives up on it. */
const MISSING_MO_GRACE_MS = 60_000;
/** MO per page: order per subscriber reads many lines at once; order per partner pushes one at a time. */
const SUBSCRIBER_PAGE = 500;
const PARTNER_PAGE = 100;
/** A job waits this long at most for the pump of its partner in this instance to push its MO. */
const JOB_WAIT_MS = 2_000;
/** MO acknowledged by this instance lately: a job of one of them ends without a read. */
const RECENTLY_ACKED = 100_000;

/**
 * Incoming messages (PROTOCOL §6). One pump per partner across all instances (the holder of the
 * partner's lock, MoOrder) pushes its waiting MO: strictly in arrival order, one at a time, or
 * with order per subscriber each subscriber's in order and subscribers in parallel up to the
 * partner's callback concurrency (MoPump). When a push fails, every MO of that partner waits for
 * that MO's retry. The pump runs in the job that took the lock; the jobs of MO it pushes wait for
 * it in this instance or knock and step back, and end once their MO is acknowledged.
 */
@Injectable()
export class MoService {
  private readonly logger = new Logger(MoService.name);
  private readonly retry: RetrySettings;
  private stopping = false;
  /** Pumps running in this instance, by partner. */
  private readonly pumps = new Map<number, MoPump>();
  /** Acknowledged here lately (an acknowledgement is final), oldest first. */
  private readonly acked = new Set<string>();
  /** Partners whose first job here is taking the lock: their other jobs wait for its pump. */
  private readonly starting = new Map<number, Promise<void>>();

  constructor(
    private readonly partners: PartnerSettings,
    private readonly order: MoOrder,
    private readonly http: HttpSender,
    private readonly relay: SmppRelay,
    private readonly log: CallbackLog,
    private readonly replies: MoReplyWriter,
    @Inject(CALLBACK_MO_QUEUE) private readonly moQueue: Queue,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
  ) {
    this.retry = {
      firstMs: config.CALLBACK_RETRY_FIRST_MS,
      maxMs: config.CALLBACK_RETRY_MAX_MS,
      horizonMs: config.CALLBACK_RETRY_HORIZON_MS,
      maxAttempts: config.CALLBACK_MO_MAX_ATTEMPTS,
      minDelayMs: config.CALLBACK_MO_DOWN_MS,
    };
  }

  async handle(job: Job, token: string): Promise<void> {
    const data = parseJob(QUEUES.CALLBACK_MO, job.data);
    if (this.acked.has(data.moId)) return;
    // Another job of this partner is about to start its pump here (a backlog's first jobs come at once).
    await this.starting.get(data.partnerId);
    if (this.pumps.has(data.partnerId) || this.starting.has(data.partnerId)) return this.handleMo(job, token, data, () => undefined);
    let started!: () => void;
    const starting = new Promise<void>((resolve) => (started = resolve));
    this.starting.set(data.partnerId, starting);
    const done = () => {
      if (this.starting.get(data.partnerId) === starting) this.starting.delete(data.partnerId);
      started();
    };
    try {
      return await this.handleMo(job, token, data, done);
    } finally {
      done();
    }
  }

  /** `started`: this job's pump runs (or it will not start one). */
  private async handleMo(job: Job, token: string, data: CallbackMoJob, started: () => void): Promise<void> {
    // A pump of this partner running here pushes the MO without this job's help: the job waits
    // for the outcome (no read of its own) while the pump has room for waiters, or steps back.
    const waited = this.pumps.get(data.partnerId) ?? null;
    if (waited) {
      const seen = await waited.waitFor(data.moId);
      // `full`: the pump noted the MO and pushes it once it is read (or queues its job again if it
      // never finds it). The job ends: jobs stepping back and coming back were most of a burst's
      // Redis work. A crash of this instance brings the pump's own job back, and its next pump
      // reads every MO still waiting.
      if (seen === 'acked' || seen === 'full') return;
    }

    const state = await this.ownState(data);
    if (state === 'missing') {
      // The connector queues the job inside the transaction that stores the MO, so the job can
      // run before the row is committed. With no pump of the partner running, this job starts one
      // (it reads again until the MO shows: one reader for a whole burst, instead of every job
      // looking again on its own); otherwise it looks again soon, less often as it ages.
      if (!waited && !this.pumps.has(data.partnerId) && !this.stopping && Date.now() - job.timestamp < MISSING_MO_GRACE_MS) {
        const partner = await this.partners.get(data.partnerId);
        if (partner?.moUrl) {
          const lockToken = randomBytes(9).toString('base64');
          const took = await this.order.take(partner.id, lockToken);
          if (took.taken) return this.pumpPartner(job, token, data, partner, lockToken, started);
        }
      }
      return this.lookAgain(job, token, data);
    }
    if (state !== 'waiting') return;
    const partner = await this.partners.get(data.partnerId);
    if (!partner?.moUrl) {
      // Stays unacknowledged: once the partner has an MO URL, the next MO's job pushes it, in order.
      this.logger.warn(`MO ${data.moId} for partner ${data.partnerId} not pushed: ${partner ? 'the partner has no MO URL' : 'unknown partner'}`);
      metrics.skipped.inc();
      return;
    }
    // Shutting down: the MO goes to another instance.
    if (this.stopping) return deferJob(job, token, Date.now(), 'mo', 'ordered');

    const pump = this.pumps.get(partner.id);
    if (pump?.accepting) {
      // Its row is committed (read above), so the pump's next look from the oldest finds it. A
      // pump that started since the job looked waits for it once more.
      pump.knock();
      if (pump !== waited) {
        const seen = await pump.waitFor(data.moId);
        if (seen === 'acked' || seen === 'full') return;
      }
      return this.deferOrdered(job, token);
    }
    const lockToken = randomBytes(9).toString('base64');
    const took = await this.order.take(partner.id, lockToken);
    if (!took.taken) {
      if (took.reason === 'down') return deferJob(job, token, Date.now() + took.retryInMs, 'mo', 'down');
      // Another instance pumps this partner and was told to look once more before it lets go, so
      // it pushes this MO too. This job only checks again in case that instance dies, when the
      // lock's lease would have run out: a long queue of waiting MO costs nothing meanwhile.
      return this.deferOrdered(job, token);
    }
    return this.pumpPartner(job, token, data, partner, lockToken, started);
  }

  /**
   * The job of an MO not committed yet looks again soon, less often as it ages; after
   * MISSING_MO_GRACE_MS it gives up (its transaction rolled back: the SMSC sends the MO again, under a new id).
   */
  private async lookAgain(job: Job, token: string, data: CallbackMoJob): Promise<void> {
    const age = Date.now() - job.timestamp;
    if (age < MISSING_MO_GRACE_MS) return deferJob(job, token, Date.now() + Math.min(2_000, Math.max(20, age / 4)), 'mo', 'uncommitted');
    this.logger.warn(`MO ${data.moId} not found ${Math.round(age / 1000)} s after its job was queued: its transaction did not commit`);
  }

  /** Holders finish the pushes in hand and hand their partners over (the worker is closing). */
  stop(): void {
    this.stopping = true;
    for (const pump of this.pumps.values()) pump.stop();
  }

  /** This job holds the partner's lock: it pumps the partner's MO until none waits (or it has to stop). */
  private async pumpPartner(job: Job, token: string, data: CallbackMoJob, first: CallbackPartner, lockToken: string, started: () => void): Promise<void> {
    const io: PumpIo = {
      partner: () => this.partners.get(first.id),
      page: (partner, perSubscriber, after, limit) => this.page(partner.id, perSubscriber, after, limit),
      push: (partner, mo, connections, failing) => this.push(partner, mo, connections, failing),
      extend: () => this.order.extend(first.id, lockToken),
      knocked: () => this.order.knocked(first.id),
      leave: () => this.order.leave(first.id, lockToken),
      requeue: (id) => void this.handOver(id, Date.now() + 1000, first.id),
    };
    let partner = first;
    let end: PumpEnd;
    for (;;) {
      const pump = new MoPump(partner, io, {
        pageSize: partner.moOrder === 'subscriber' ? SUBSCRIBER_PAGE : PARTNER_PAGE,
        maxKnown: 4 * SUBSCRIBER_PAGE,
        // Jobs waiting for their MO hold worker slots: a quarter stays for other partners' jobs.
        maxWaiters: Math.max(1, Math.floor((this.config.CALLBACK_MO_CONCURRENCY * 3) / 4)),
        maxWaitMs: JOB_WAIT_MS,
      });
      this.pumps.set(partner.id, pump);
      // This job's own MO may not be committed yet: the pump looks for it like any job's.
      if (partner === first) void pump.waitFor(data.moId);
      started();
      if (this.stopping) pump.stop();
      try {
        end = await pump.run();
      } finally {
        if (this.pumps.get(partner.id) === pump) this.pumps.delete(partner.id);
      }
      if (end.reason !== 'changed') break;
      partner = end.partner;
    }

    let retryAt: number | null = null;
    const release = () => this.order.release(first.id, lockToken).catch(() => undefined);
    switch (end.reason) {
      case 'empty':
        break;
      case 'blocked':
        // The lock is let go; the job of the next MO due runs when it is (or a new MO's job comes first).
        retryAt = end.at;
        await this.handOver(end.mo.id, end.at, first.id);
        break;
      case 'failed':
        // The partner's MO URL is down until then (set by the push): the failed MO's job retries it.
        retryAt = end.at;
        await release();
        await this.handOver(end.mo.id, end.at, first.id);
        break;
      case 'stopped':
        // Shutting down: the partner goes to its oldest waiting MO's job, on another instance if there is one.
        retryAt = Date.now();
        await release();
        if (end.mo) await this.handOver(end.mo.id, retryAt, first.id);
        break;
      case 'lost':
        retryAt = Date.now() + 500;
        break;
      case 'no-url':
        await release();
        return;
      case 'fault':
        await release();
        throw end.error;
    }
    if (this.acked.has(data.moId)) return;
    const own = await this.ownState(data);
    if (own === 'missing') return this.lookAgain(job, token, data);
    if (own !== 'waiting') return;
    return deferJob(job, token, retryAt ?? Date.now() + 100, 'mo', 'ordered');
  }

  /** Steps back for the holder of the partner's lock; looks again once its lease would have run out. */
  private deferOrdered(job: Job, token: string): Promise<never> {
    return deferJob(job, token, Date.now() + this.order.leaseMs + Math.floor(Math.random() * 1000), 'mo', 'ordered');
  }

  /**
   * Makes the job of MO `moId` run at `at`: the MO a pump stopped at waits for it. A job that is not
   * delayed right now (waiting, or running and about to look at its MO) runs anyway; a lost one is
   * added again.
   */
  private async handOver(moId: string, at: number, partnerId: number): Promise<void> {
    const delay = at - Date.now();
    try {
      const job = await this.moQueue.getJob(moJobId(moId));
      if (!job) {
        await this.moQueue.add(QUEUES.CALLBACK_MO, { moId, partnerId }, { ...moJobOptions(moId), delay: Math.max(0, delay) });
        return;
      }
      if (await job.isDelayed()) await (delay > 0 ? job.changeDelay(delay) : job.promote());
    } catch {
      // A job in another state, or Redis away: the MO's own job (or the sweep) covers it.
    }
  }

  /** Waiting; done with (acknowledged, parked, or not this partner's); or not in the table (yet). */
  private async ownState(data: CallbackMoJob): Promise<'waiting' | 'done' | 'missing'> {
    const { rows } = await this.pool.query<OwnRow>(OWN_SQL, [data.moId]);
    const own = rows[0];
    if (!own) return 'missing';
    if (own.partner_id !== data.partnerId) {
      this.logger.warn(`MO ${data.moId} belongs to partner ${own.partner_id}, not ${data.partnerId}`);
      return 'done';
    }
    return own.callback_done_at !== null || own.state === 'parked' || own.state === 'delivered' ? 'done' : 'waiting';
  }

  private async page(partnerId: number, perSubscriber: boolean, after: PageCursor | null, limit: number): Promise<WaitingMo[]> {
    const { rows } = await this.pool.query<WaitingMo>(perSubscriber ? SUBSCRIBER_PAGE_SQL : PARTNER_PAGE_SQL, [
      partnerId,
      after ? after.receivedAt : '-infinity',
      after ? after.id : '0',
      limit,
    ]);
    return rows;
  }

  /**
   * One push of `mo` (over up to `connections` to the partner) and its record: done with
   * (acknowledged, with its replies, or parked), or failed, and then the partner's MO URL counts
   * as down until the retry.
   */
  private async push(partner: CallbackPartner, mo: WaitingMo, connections: number, failing: () => void): Promise<PushResult> {
    const target = partner.moUrl!;
    let outcome: HttpOutcome;
    let loggedUrl: string;
    if (!target.ok) {
      outcome = { ok: false, httpStatus: null, error: `invalid MO URL: ${target.error}`, durationMs: 0, contentType: null, body: null, bodyTruncated: false };
      loggedUrl = target.raw;
      metrics.attempt.invalid_url.inc();
    } else if (target.smpp) {
      // Over the partner's SMPP binds: acknowledged by deliver_sm_resp, so no reply lines.
      loggedUrl = target.base;
      metrics.inFlight.inc();
      try {
        outcome = await this.relay.send(partner.id, { kind: 'mo', moId: mo.id, msisdn: mo.msisdn, serviceNumber: mo.service_number, text: mo.text });
      } finally {
        metrics.inFlight.dec();
      }
      metrics.attempt[outcomeLabel(outcome)].inc();
      metrics.duration.observe(outcome.durationMs / 1000);
    } else {
      const url = appendCallbackParams(target.base, this.params(partner, mo), partner.paramNames);
      loggedUrl = target.redacted + url.slice(target.base.length);
      metrics.inFlight.inc();
      try {
        outcome = await this.http.send(`mo:${partner.id}`, connections, url, { partnerId: partner.id, headers: this.headers(partner, url), readBodyLimit: this.config.CALLBACK_MO_BODY_LIMIT });
      } finally {
        metrics.inFlight.dec();
      }
      metrics.attempt[outcomeLabel(outcome)].inc();
      metrics.duration.observe(outcome.durationMs / 1000);
    }

    const attempt = (mo.attempts ?? 0) + 1;
    const attemptedAt = new Date(Date.now() - outcome.durationMs);
    // The horizon of an MO starts at its first attempt: waiting behind an earlier MO is not its failure.
    const dueAt = mo.due_at ?? attemptedAt;
    const reply = outcome.ok ? replyLines(outcome.body, outcome.contentType, outcome.bodyTruncated, this.config.CALLBACK_MO_MAX_REPLIES) : null;
    const record: CallbackRecord = {
      kind: 'mo',
      hasRow: mo.state !== null,
      partnerId: partner.id,
      messageId: null,
      status: null,
      moId: mo.id,
      attempt: {
        attempt,
        attemptedAt,
        url: loggedUrl,
        httpStatus: outcome.httpStatus,
        error: outcome.error ?? reply?.problem ?? null,
        durationMs: outcome.durationMs,
      },
      state: 'delivered',
      attempts: attempt,
      dueAt,
      nextAttemptAt: null,
      lastResult: outcome.error ?? String(outcome.httpStatus),
    };
    if (outcome.ok) {
      await this.replies.acknowledge({ id: mo.id, msisdn: mo.msisdn, serviceNumber: mo.service_number }, partner, reply?.lines ?? [], record);
      metrics.delivered.inc();
      this.acked.add(mo.id);
      if (this.acked.size > RECENTLY_ACKED) this.acked.delete(this.acked.values().next().value!);
      return { settled: 'acked' };
    }
    const decision = nextRetry(attempt, dueAt.getTime(), Date.now(), this.retry);
    if (decision.action === 'park') {
      await this.log.record({ ...record, state: 'parked' });
      metrics.parked.inc();
      this.logger.warn(`MO ${mo.id} to partner ${partner.id} parked after ${attempt} attempts: ${record.lastResult}`);
      return { settled: 'parked' };
    }
    failing();
    await this.log.record({ ...record, state: 'pending', nextAttemptAt: new Date(decision.at) });
    await this.order.markDown(partner.id, decision.at - Date.now());
    return { retryAt: decision.at };
  }

  /** PROTOCOL §6, in this order; `hash` only for partners with a signing secret. */
  private params(partner: CallbackPartner, mo: WaitingMo): CallbackParams {
    return [
      ['clientId', mo.msisdn],
      ['message', mo.text],
      ['shortNumber', mo.service_number],
      ['serviceId', partner.login],
      ['messageId', mo.id],
      ['receivedDate', formatCallbackDate(mo.received_at)],
      ['connectorId', mo.smsc_connection_id],
      ['sum_sms', mo.segments],
      ['mtSent', mo.behind],
      ['hash', partner.signingSecret ? moCallbackHash(partner.signingSecret, mo.msisdn, mo.text, mo.id) : null],
    ];
  }

  private headers(partner: CallbackPartner, url: string): Record<string, string> {
    if (!partner.signingSecret) return {};
    return { 'x-signature': signCallback(partner.signingSecret, callbackPathAndQuery(url), Date.now() / 1000) };
  }
}
