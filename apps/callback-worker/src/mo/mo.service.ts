import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import type { Pool } from 'pg';
import { moJobId, parseJob, QUEUES, type CallbackMoJob } from '@smsgw/contracts';
import { appendCallbackParams, callbackPathAndQuery, formatCallbackDate, moCallbackHash, signCallback, type CallbackParams } from '@smsgw/sms';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { CallbackLog, type CallbackRecord, type CallbackState } from '../delivery/callback-log.service';
import { boundMetrics } from '../delivery/callback-metrics';
import { deferJob } from '../delivery/defer';
import { HttpSender, type HttpOutcome } from '../delivery/http-sender.service';
import { PartnerGate } from '../delivery/partner-gate.service';
import { nextRetry, type RetrySettings } from '../delivery/retry-policy';
import { outcomeLabel } from '../dlr/dlr.service';
import { CALLBACK_MO_QUEUE, PG_POOL } from '../infra/tokens';
import { PartnerSettings, type CallbackPartner } from '../partners/partner-settings.service';
import { type MoLine, MoOrder } from './mo-order.service';
import { MoReplyWriter } from './mo-reply.service';
import { replyLines } from './reply-body';

interface MoRow {
  id: string;
  partner_id: number | null;
  msisdn: string;
  service_number: string;
  text: string;
  segments: number;
  smsc_connection_id: number | null;
  received_at: Date;
  callback_done_at: Date | null;
  state: CallbackState | null;
  attempts: number | null;
  due_at: Date | null;
  next_attempt_at: Date | null;
  /** MO of the partner waiting behind this one. */
  behind: string;
}

const MO_COLUMNS = `m.id::text AS id, m.partner_id, m.msisdn, m.service_number, m.text, m.segments, m.smsc_connection_id, m.received_at,
  m.callback_done_at, c.state::text AS state, c.attempts, c.due_at, c.next_attempt_at`;

const OWN_SQL = `SELECT ${MO_COLUMNS}, '0' AS behind FROM mo_message m LEFT JOIN callback c ON c.mo_id = m.id WHERE m.id = $1`;

/**
 * The line's oldest MO not yet acknowledged nor parked, and how many wait behind it (mtSent): the
 * partner's line, or with `AND m.msisdn = $2` its subscriber's.
 */
function headSql(perSubscriber: boolean): string {
  return `
WITH waiting AS (
  SELECT m.id, m.received_at FROM mo_message m
  WHERE m.partner_id = $1 ${perSubscriber ? 'AND m.msisdn = $2' : ''} AND m.callback_done_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM callback p WHERE p.mo_id = m.id AND p.state = 'parked')
), head AS (
  SELECT id, received_at FROM waiting ORDER BY received_at, id LIMIT 1
)
SELECT ${MO_COLUMNS},
  (SELECT count(*) FROM waiting w WHERE (w.received_at, w.id) > (head.received_at, head.id))::text AS behind
FROM head JOIN mo_message m ON m.id = head.id LEFT JOIN callback c ON c.mo_id = m.id`;
}
const PARTNER_HEAD_SQL = headSql(false);
const SUBSCRIBER_HEAD_SQL = headSql(true);

const metrics = boundMetrics('mo');

/** How long a job waits for its MO row to be committed before it gives up on it. */
const MISSING_MO_GRACE_MS = 60_000;

/**
 * Incoming messages (PROTOCOL §6). A partner's MO go out strictly in arrival order: the job that
 * holds the partner's lock pushes its oldest waiting MO, then the next, until none waits; when a
 * push fails, every MO of that partner waits for that MO's retry.
 */
@Injectable()
export class MoService {
  private readonly logger = new Logger(MoService.name);
  private readonly retry: RetrySettings;
  private stopping = false;

  constructor(
    private readonly partners: PartnerSettings,
    private readonly order: MoOrder,
    private readonly http: HttpSender,
    private readonly log: CallbackLog,
    private readonly replies: MoReplyWriter,
    private readonly gate: PartnerGate,
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
    const { state, msisdn } = await this.ownState(data);
    if (state === 'missing') {
      // The connector queues the job inside the transaction that stores the MO, so the job can
      // run before the row is committed: look again soon, less often as the job ages. A job whose
      // transaction rolled back (the SMSC then sends the MO again, under a new id) gives up.
      const age = Date.now() - job.timestamp;
      if (age < MISSING_MO_GRACE_MS) return deferJob(job, token, Date.now() + Math.min(2_000, Math.max(20, age / 4)), 'mo', 'uncommitted');
      this.logger.warn(`MO ${data.moId} not found ${Math.round(age / 1000)} s after its job was queued: its transaction did not commit`);
      return;
    }
    if (state !== 'waiting') return;
    const partner = await this.partners.get(data.partnerId);
    if (!partner?.moUrl) {
      // Stays unacknowledged: once the partner has an MO URL, the next MO's job pushes it, in order.
      this.logger.warn(`MO ${data.moId} for partner ${data.partnerId} not pushed: ${partner ? 'the partner has no MO URL' : 'unknown partner'}`);
      metrics.skipped.inc();
      return;
    }

    const line: MoLine = { partnerId: partner.id, msisdn: partner.moOrder === 'subscriber' ? msisdn : null };
    const lockToken = randomBytes(9).toString('base64');
    const took = await this.order.take(line, lockToken);
    if (!took.taken) {
      if (took.reason === 'down') return deferJob(job, token, Date.now() + took.retryInMs, 'mo', 'down');
      // Another run is pushing this line and was told to look once more before it lets go, so it
      // pushes ours too (or hands the line over to the job of the MO it stops at). This job only
      // checks again in case that run dies, when the lock's lease would have run out: a long line
      // of waiting MO costs nothing while its holder works through it.
      return deferJob(job, token, Date.now() + this.order.leaseMs + Math.floor(Math.random() * 1000), 'mo', 'ordered');
    }
    let retryAt: number | null = null;
    let held = true;
    /** The MO the holder stopped at while it still waits (no gate slot): its job takes the line over. */
    let handOver: MoRow | null = null;
    try {
      // The holder pushes the line's waiting MO oldest first, the next as soon as one is answered,
      // until none waits, whichever job it came with. (One worker slot per line: other partners'
      // and other lines' jobs have the rest.)
      for (;;) {
        const head = await this.head(line);
        if (!head) {
          if (await this.order.leave(line, lockToken)) {
            held = false;
            break;
          }
          continue; // another MO's job knocked meanwhile: its row is committed, look again
        }
        if (this.stopping) {
          // Shutting down: the line goes to its next MO's job, on another instance if there is one.
          retryAt = Date.now();
          if (head.id !== data.moId) handOver = head;
          break;
        }
        const next = head.next_attempt_at?.getTime() ?? 0;
        if (next > Date.now() + 50) {
          retryAt = next;
          break;
        }
        if (!(await this.order.extend(line, lockToken))) {
          held = false;
          retryAt = Date.now() + 500;
          break;
        }
        const pushed = await this.pushInLine(partner, line, head);
        if ('busy' in pushed) {
          retryAt = Date.now() + pushed.busy;
          if (head.id !== data.moId) handOver = head;
          break;
        }
        const failedUntil = pushed.failedUntil;
        if (failedUntil !== null) {
          await this.order.markDown(partner.id, failedUntil - Date.now());
          retryAt = failedUntil;
          break;
        }
      }
    } finally {
      if (held) await this.order.release(line, lockToken).catch(() => undefined);
    }
    if (handOver) await this.handOver(handOver, retryAt ?? Date.now());
    if ((await this.ownState(data)).state !== 'waiting') return;
    return deferJob(job, token, retryAt ?? Date.now() + 100, 'mo', 'ordered');
  }

  /** Holders finish the push in hand and hand their lines over (the worker is closing). */
  stop(): void {
    this.stopping = true;
  }

  /**
   * Makes the job of `mo` run at `at`: it waits (deferred) for a line whose holder has to stop
   * before pushing it. A job that is not delayed right now runs anyway; a lost one is the sweep's.
   */
  private async handOver(mo: MoRow, at: number): Promise<void> {
    const job = await this.moQueue.getJob(moJobId(mo.id)).catch(() => undefined);
    if (!job) return;
    const delay = at - Date.now();
    await (delay > 0 ? job.changeDelay(delay) : job.promote()).catch(() => undefined);
  }

  /** Waiting; done with (acknowledged, parked, or not this partner's); or not in the table (yet). */
  private async ownState(data: CallbackMoJob): Promise<{ state: 'waiting' | 'done' | 'missing'; msisdn: string }> {
    const { rows } = await this.pool.query<MoRow>(OWN_SQL, [data.moId]);
    const own = rows[0];
    if (!own) return { state: 'missing', msisdn: '' };
    if (own.partner_id !== data.partnerId) {
      this.logger.warn(`MO ${data.moId} belongs to partner ${own.partner_id}, not ${data.partnerId}`);
      return { state: 'done', msisdn: own.msisdn };
    }
    const done = own.callback_done_at !== null || own.state === 'parked' || own.state === 'delivered';
    return { state: done ? 'done' : 'waiting', msisdn: own.msisdn };
  }

  private async head(line: MoLine): Promise<MoRow | null> {
    const { rows } = line.msisdn === null ? await this.pool.query<MoRow>(PARTNER_HEAD_SQL, [line.partnerId]) : await this.pool.query<MoRow>(SUBSCRIBER_HEAD_SQL, [line.partnerId, line.msisdn]);
    return rows[0] ?? null;
  }

  /**
   * One push of the line's head. The partner's line is one request at a time by itself; lines of
   * subscribers run in parallel, so each of their pushes holds a slot of the partner's callback
   * concurrency (shared with nothing else: the gate counts MO apart from reports). `busy`: no slot
   * now, look again in that many ms.
   */
  private async pushInLine(partner: CallbackPartner, line: MoLine, mo: MoRow): Promise<{ failedUntil: number | null } | { busy: number }> {
    if (line.msisdn === null) return { failedUntil: await this.push(partner, mo, 1) };
    const gate = await this.gate.acquire('mo', partner.id, partner.concurrency);
    if (!gate.granted) return { busy: gate.retryInMs };
    let ok = false;
    const started = Date.now();
    try {
      const failedUntil = await this.push(partner, mo, partner.concurrency);
      ok = failedUntil === null;
      return { failedUntil };
    } finally {
      await this.gate.release(gate.lease, ok, Date.now() - started);
    }
  }

  /** One push of `mo` (over up to `connections` to the partner). Null when it is done with (acknowledged or parked); else when to retry. */
  private async push(partner: CallbackPartner, mo: MoRow, connections: number): Promise<number | null> {
    const target = partner.moUrl!;
    let outcome: HttpOutcome;
    let loggedUrl: string;
    if (!target.ok) {
      outcome = { ok: false, httpStatus: null, error: `invalid MO URL: ${target.error}`, durationMs: 0, contentType: null, body: null, bodyTruncated: false };
      loggedUrl = target.raw;
      metrics.attempt.invalid_url.inc();
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
      return null;
    }
    const decision = nextRetry(attempt, dueAt.getTime(), Date.now(), this.retry);
    if (decision.action === 'park') {
      await this.log.record({ ...record, state: 'parked' });
      metrics.parked.inc();
      this.logger.warn(`MO ${mo.id} to partner ${partner.id} parked after ${attempt} attempts: ${record.lastResult}`);
      return null;
    }
    await this.log.record({ ...record, state: 'pending', nextAttemptAt: new Date(decision.at) });
    return decision.at;
  }

  /** PROTOCOL §6, in this order; `hash` only for partners with a signing secret. */
  private params(partner: CallbackPartner, mo: MoRow): CallbackParams {
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
