import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  analyzeText,
  nextWindowOpening,
  normalizeMsisdn,
  parseSendAt,
  parseSendingTime,
  parseTimeZoneOffset,
  resolveZone,
} from '@smsgw/sms';
import { PG_POOL } from '../infra/tokens';
import { ProtocolError } from '../http/answer';
import type { Authenticated } from '../http/request-context';
import type { CachedPartner } from '../partners/partner';
import { PartnerCache } from '../partners/partner-cache.service';
import { LimitsService } from './limits.service';
import { MessageWriter, type NewMessage, type StoredMessage } from './message-writer.service';

export const MAX_TEXT_CHARS = 2000;
const PTAG = /^[0-9A-Za-z-]{1,50}$/;
/** Alphanumeric sender: 1–11 characters, at least one letter. */
const ALPHA_SENDER = /^(?=.*[A-Za-z])[A-Za-z0-9 ._&-]{1,11}$/;
/** Numeric sender: short code or long number. */
const NUMERIC_SENDER = /^\+?[0-9]{1,15}$/;
const INTEGER = /^[0-9]{1,6}$/;

/** What a /send request asks for, once every parameter is checked. */
interface SendRequest {
  message: NewMessage;
  partnerMsgId: string | null;
}

/** `/send` (PROTOCOL §1): every check of the protocol, then a durable store. */
@Injectable()
export class SendService {
  private readonly logger = new Logger(SendService.name);

  constructor(
    private readonly partners: PartnerCache,
    private readonly limits: LimitsService,
    private readonly writer: MessageWriter,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async send(req: Authenticated, now = new Date()): Promise<StoredMessage> {
    const { message, partnerMsgId } = this.validate(req, now);
    const partner = req.partner;

    // The partnerMsgId's claim and the rate token in one round trip; a repeat takes no token.
    const admission = await this.limits.admit(partner.id, partner.row.rate_limit, partnerMsgId);
    if (admission.state === 'limited') throw new ProtocolError(408, 'Rate limit exceeded');
    if (admission.state === 'pending') throw new ProtocolError(503, 'A request with this partnerMsgId is still being processed');
    if (admission.state === 'done') return { id: admission.id, segments: admission.segments, existing: true };
    if (partnerMsgId === null) return this.accept(partner, message);
    let stored: StoredMessage;
    try {
      stored = await this.accept(partner, message);
    } catch (e) {
      await this.limits.abandonPartnerMsgId(partner.id, partnerMsgId).catch(() => undefined);
      throw e;
    }
    // Not awaited: the command is on this instance's Redis connection before the answer is written,
    // so a repeat sent after the answer finds the id (through this instance, its SET NX follows on the
    // same connection; through another, it reaches Redis a network round trip later). The answer
    // does not wait for a Redis round trip.
    void this.limits.finishPartnerMsgId(partner.id, partnerMsgId, stored.id, stored.segments).catch((e) => {
      // PostgreSQL's unique key still answers repeats with the first id.
      this.logger.warn(`could not record partnerMsgId answer in Redis: ${(e as Error).message}`);
    });
    return stored;
  }

  /**
   * The other limits (the rate token is taken with the admission), then the insert; every limit
   * taken is given back if the message is not stored.
   */
  private async accept(partner: CachedPartner, message: NewMessage): Promise<StoredMessage> {
    const row = partner.row;

    const undo: Array<() => Promise<void>> = [];
    try {
      if (row.duplicate_filter) {
        const ok = await this.limits.takeDuplicateSlot(partner.id, message.msisdn, message.text, row.duplicate_max, row.duplicate_window_hours);
        if (!ok) throw new ProtocolError(409, 'Duplicate message');
        undo.push(() => this.limits.releaseDuplicateSlot(partner.id, message.msisdn, message.text));
      }
      if (message.test) {
        let taken = await this.limits.takeTestQuota(partner.id, row.test_quota);
        if (taken === null) {
          await this.limits.seedTestQuota(partner.id, await this.testMessagesUsed(partner.id));
          taken = await this.limits.takeTestQuota(partner.id, row.test_quota);
        }
        if (!taken) throw new ProtocolError(402, 'Test quota used up');
        undo.push(() => this.limits.releaseTestQuota(partner.id));
      }
      const stored = await this.writer.write(message);
      if (stored.existing) for (const u of undo) await u();
      return stored;
    } catch (e) {
      await Promise.all(undo.map((u) => u().catch(() => undefined)));
      if (e instanceof ProtocolError) throw e;
      this.logger.error({ partnerId: partner.id, err: (e as Error).message }, 'message not accepted: store failed');
      throw new ProtocolError(500, 'Internal error: nothing was accepted, retry in a minute');
    }
  }

  private async testMessagesUsed(partnerId: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM message WHERE partner_id = $1 AND test', [partnerId]);
    return Number(rows[0]?.n ?? 0);
  }

  /** Every parameter check of PROTOCOL §1, in the order a partner can act on them. */
  validate(req: Authenticated, now: Date): SendRequest {
    const { partner } = req;
    const row = partner.row;
    const get = (name: Parameters<Authenticated['param']>[0]): string | undefined => {
      const key = partner.paramName(name);
      if (req.params.invalid.has(key)) throw new ProtocolError(400, `Invalid parameter: ${key} is not valid UTF-8`);
      return req.param(name);
    };
    const name = (p: Parameters<Authenticated['param']>[0]) => partner.paramName(p);

    const rawNumber = get('clientId');
    if (rawNumber === undefined || rawNumber === '') throw new ProtocolError(400, `Missing parameter: ${name('clientId')}`);
    const text = get('message');
    if (text === undefined || text === '') throw new ProtocolError(400, `Missing parameter: ${name('message')}`);
    if (text.includes('\0')) throw new ProtocolError(400, `Invalid parameter: ${name('message')} contains a NUL character`);
    if (countCodePoints(text) > MAX_TEXT_CHARS) throw new ProtocolError(414, `Message too long: more than ${MAX_TEXT_CHARS} characters`);

    const sender = this.sender(partner, get('source'));
    const ptag = optional(get('ptag'));
    if (ptag !== null && !PTAG.test(ptag)) throw new ProtocolError(400, `Invalid parameter: ${name('ptag')} must be 1-50 characters of 0-9, A-Z, a-z, -`);
    const partnerMsgId = optional(get('partnerMsgId'));
    if (partnerMsgId !== null && partnerMsgId.length > 50) throw new ProtocolError(400, `Invalid parameter: ${name('partnerMsgId')} is longer than 50 characters`);
    // PostgreSQL text cannot hold U+0000: storing it would fail (500).
    if (partnerMsgId !== null && partnerMsgId.includes('\u0000')) throw new ProtocolError(400, `Invalid parameter: ${name('partnerMsgId')} contains a NUL character`);

    const flashRaw = optional(get('flash'));
    if (flashRaw !== null && flashRaw !== '0' && flashRaw !== '1') throw new ProtocolError(400, `Invalid parameter: ${name('flash')} must be 0 or 1`);
    const flash = flashRaw === '1';
    const priorityRaw = optional(get('smsPriority')) ?? '1';
    if (priorityRaw !== '0' && priorityRaw !== '1' && priorityRaw !== '2') throw new ProtocolError(400, `Invalid parameter: ${name('smsPriority')} must be 0, 1 or 2`);
    const priority = Number(priorityRaw) as 0 | 1 | 2;

    const validityRaw = optional(get('validity'));
    let validity = row.validity_minutes;
    if (validityRaw !== null) {
      const v = INTEGER.test(validityRaw) ? Number(validityRaw) : NaN;
      if (!(v >= 1 && v <= 2880)) throw new ProtocolError(400, `Invalid parameter: ${name('validity')} must be 1-2880 minutes`);
      validity = Math.min(v, row.validity_minutes);
    }

    const { releaseAt, windowStart, windowEnd, windowZone } = this.timing(req, get, now);

    const analysis = analyzeText(text);
    if (flash && analysis.segments > 1) throw new ProtocolError(414, 'Flash message must fit one SMS');

    const number = normalizeMsisdn(rawNumber, row.default_country);
    if (!number.ok) {
      if (number.reason === 'malformed') throw new ProtocolError(400, `Invalid parameter: ${name('clientId')} is not a phone number`);
      throw new ProtocolError(406, number.reason === 'not_mobile' ? 'Number is not a mobile number' : 'Invalid number');
    }
    if (this.partners.isBlacklisted(number.msisdn)) throw new ProtocolError(406, 'Number is blacklisted');

    const startsAt = releaseAt ?? now;
    return {
      partnerMsgId,
      message: {
        partnerId: partner.id,
        partnerMsgId,
        ptag,
        sender,
        msisdn: number.msisdn,
        text,
        encoding: analysis.dataCoding,
        segments: analysis.segments,
        flash,
        priority,
        test: row.test_mode,
        releaseAt,
        windowStart,
        windowEnd,
        windowZone,
        validUntil: new Date(startsAt.getTime() + validity * 60_000),
      },
    };
  }

  private sender(partner: CachedPartner, source: string | undefined): string {
    const value = optional(source);
    if (value === null) {
      const fallback = partner.row.default_sender ?? partner.row.senders[0];
      if (!fallback) throw new ProtocolError(400, `Missing parameter: ${partner.paramName('source')} (no default sender is configured)`);
      return fallback;
    }
    if (partner.senders.has(value)) return value;
    if (!partner.row.dynamic_signature) throw new ProtocolError(400, `Invalid parameter: ${partner.paramName('source')} is not one of your senders`);
    if (!ALPHA_SENDER.test(value) && !NUMERIC_SENDER.test(value)) {
      throw new ProtocolError(400, `Invalid parameter: ${partner.paramName('source')} must be up to 11 letters/digits or up to 15 digits`);
    }
    return value;
  }

  /** send_at / sending_time / time_zone: when the message may be handed over. */
  private timing(req: Authenticated, get: (n: Parameters<Authenticated['param']>[0]) => string | undefined, now: Date) {
    const { partner } = req;
    const row = partner.row;
    const name = (p: Parameters<Authenticated['param']>[0]) => partner.paramName(p);
    const sendAtRaw = get('send_at');
    const windowRaw = get('sending_time');
    const zoneRaw = optional(get('time_zone'));

    let zone: string;
    if (zoneRaw !== null) {
      const z = parseTimeZoneOffset(zoneRaw);
      if (!z.ok) throw new ProtocolError(400, `Invalid parameter: ${name('time_zone')} must be ±hh:mm`);
      zone = z.zone;
    } else {
      zone = resolveZone(row.time_zone);
    }

    let releaseAt: Date | null = null;
    if (sendAtRaw !== undefined) {
      if (!row.postponed_enabled) throw new ProtocolError(400, `Invalid parameter: ${name('send_at')}: postponed delivery is not enabled for you`);
      const at = parseSendAt(sendAtRaw, zone);
      if (!at.ok) throw new ProtocolError(400, `Invalid parameter: ${name('send_at')} must be ISO 8601 with offset or YYYY-MM-DD HH:MM:SS`);
      if (at.at.getTime() > now.getTime() + row.postponed_horizon_days * 86_400_000) {
        throw new ProtocolError(400, `Invalid parameter: ${name('send_at')} is more than ${row.postponed_horizon_days} days ahead`);
      }
      if (at.at.getTime() > now.getTime()) releaseAt = at.at;
    }

    let windowStart: number | null = null;
    let windowEnd: number | null = null;
    let windowZone: string | null = null;
    if (windowRaw !== undefined) {
      const w = parseSendingTime(windowRaw);
      if (!w.ok) throw new ProtocolError(400, `Invalid parameter: ${name('sending_time')} must be hh_hh, e.g. 10_20`);
      windowStart = w.startHour;
      windowEnd = w.endHour;
      windowZone = zone;
      const opening = nextWindowOpening(releaseAt ?? now, w.startHour, w.endHour, zone);
      if (opening.getTime() > now.getTime()) releaseAt = opening;
    }
    return { releaseAt, windowStart, windowEnd, windowZone };
  }
}

function optional(v: string | undefined): string | null {
  return v === undefined || v === '' ? null : v;
}

function countCodePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}
