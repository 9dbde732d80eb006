import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { Pool } from 'pg';
import { parseJob, QUEUES, type CallbackMoJob } from '@smsgw/contracts';
import { appendCallbackParams, callbackPathAndQuery, formatCallbackDate, moCallbackHash, signCallback, type CallbackParams } from '@smsgw/sms';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { CallbackLog, type CallbackRecord, type CallbackState } from '../delivery/callback-log.service';
import { boundMetrics } from '../delivery/callback-metrics';
import { deferJob } from '../delivery/defer';
import { HttpSender, type HttpOutcome } from '../delivery/http-sender.service';
import { nextRetry, type RetrySettings } from '../delivery/retry-policy';
import { outcomeLabel } from '../dlr/dlr.service';
import { PG_POOL } from '../infra/tokens';
import { PartnerSettings, type CallbackPartner } from '../partners/partner-settings.service';
import { MoOrder } from './mo-order.service';
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

/** The partner's oldest MO not yet acknowledged nor parked, and how many wait behind it (mtSent). */
const HEAD_SQL = `
WITH waiting AS (
  SELECT m.id, m.received_at FROM mo_message m
  WHERE m.partner_id = $1 AND m.callback_done_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM callback p WHERE p.mo_id = m.id AND p.state = 'parked')
), head AS (
  SELECT id, received_at FROM waiting ORDER BY received_at, id LIMIT 1
)
SELECT ${MO_COLUMNS},
  (SELECT count(*) FROM waiting w WHERE (w.received_at, w.id) > (head.received_at, head.id))::text AS behind
FROM head JOIN mo_message m ON m.id = head.id LEFT JOIN callback c ON c.mo_id = m.id`;

const metrics = boundMetrics('mo');

/** Pushes per job before its slot is given back to other partners' work. */
const MAX_PUSHES_PER_RUN = 100;

/**
 * Incoming messages (PROTOCOL §6). A partner's MO go out strictly in arrival order: a job pushes
 * its partner's oldest waiting MO first, and goes on until its own MO is acknowledged; when a push
 * fails, every MO of that partner waits for that MO's retry.
 */
@Injectable()
export class MoService {
  private readonly logger = new Logger(MoService.name);
  private readonly retry: RetrySettings;

  constructor(
    private readonly partners: PartnerSettings,
    private readonly order: MoOrder,
    private readonly http: HttpSender,
    private readonly log: CallbackLog,
    private readonly replies: MoReplyWriter,
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
    if (await this.finished(data)) return;
    const partner = await this.partners.get(data.partnerId);
    if (!partner?.moUrl) {
      // Stays unacknowledged: once the partner has an MO URL, the next MO's job pushes it, in order.
      this.logger.warn(`MO ${data.moId} for partner ${data.partnerId} not pushed: ${partner ? 'the partner has no MO URL' : 'unknown partner'}`);
      metrics.skipped.inc();
      return;
    }

    const lockToken = randomBytes(9).toString('base64');
    const took = await this.order.take(partner.id, lockToken);
    if (!took.taken) {
      // Another run is pushing this partner's MO (ours may be among them): look again shortly.
      const wait = took.reason === 'down' ? took.retryInMs : Math.min(took.retryInMs, 500) + Math.floor(Math.random() * 500);
      return deferJob(job, token, Date.now() + wait, 'mo', took.reason === 'down' ? 'down' : 'ordered');
    }
    let retryAt: number | null = null;
    try {
      for (let pushes = 0; pushes < MAX_PUSHES_PER_RUN; pushes++) {
        const head = await this.head(partner.id);
        if (!head) return; // nothing waits, ours included
        const next = head.next_attempt_at?.getTime() ?? 0;
        if (next > Date.now() + 50) {
          retryAt = next;
          break;
        }
        if (!(await this.order.extend(partner.id, lockToken))) {
          retryAt = Date.now() + 500;
          break;
        }
        const failedUntil = await this.push(partner, head);
        if (failedUntil !== null) {
          await this.order.markDown(partner.id, failedUntil - Date.now());
          retryAt = failedUntil;
          break;
        }
        if (head.id === data.moId) return;
      }
      retryAt ??= Date.now() + 100;
    } finally {
      await this.order.release(partner.id, lockToken).catch(() => undefined);
    }
    if (await this.finished(data)) return;
    return deferJob(job, token, retryAt, 'mo', 'ordered');
  }

  /** Acknowledged or parked: nothing left for this job. */
  private async finished(data: CallbackMoJob): Promise<boolean> {
    const { rows } = await this.pool.query<MoRow>(OWN_SQL, [data.moId]);
    const own = rows[0];
    if (!own) {
      this.logger.warn(`MO ${data.moId} not found`);
      return true;
    }
    if (own.partner_id !== data.partnerId) {
      this.logger.warn(`MO ${data.moId} belongs to partner ${own.partner_id}, not ${data.partnerId}`);
      return true;
    }
    return own.callback_done_at !== null || own.state === 'parked' || own.state === 'delivered';
  }

  private async head(partnerId: number): Promise<MoRow | null> {
    const { rows } = await this.pool.query<MoRow>(HEAD_SQL, [partnerId]);
    return rows[0] ?? null;
  }

  /** One push of `mo`. Null when it is done with (acknowledged or parked); else when to retry. */
  private async push(partner: CallbackPartner, mo: MoRow): Promise<number | null> {
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
        outcome = await this.http.send(`mo:${partner.id}`, 1, url, { partnerId: partner.id, headers: this.headers(partner, url), readBodyLimit: this.config.CALLBACK_MO_BODY_LIMIT });
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
