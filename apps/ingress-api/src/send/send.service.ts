import { Injectable } from '@nestjs/common';
import {
  analyzeText,
  nextWindowOpening,
  normalizeMsisdn,
  parseSendAt,
  parseSendingTime,
  parseTimeZoneOffset,
  resolveZone,
} from '@smsgw/sms';
import { Intake, MAX_TEXT_CHARS, MAX_VALIDITY_MINUTES, PartnerCache, ProtocolError, type NewMessage, type StoredMessage } from '@smsgw/intake';
import type { Authenticated } from '../http/request-context';

const PTAG = /^[0-9A-Za-z-]{1,50}$/;
const INTEGER = /^[0-9]{1,6}$/;

/** What a /send request asks for, once every parameter is checked. */
interface SendRequest {
  message: NewMessage;
  partnerMsgId: string | null;
}

/** `/send` (PROTOCOL §1): every check of the protocol, then the intake (limits and a durable store). */
@Injectable()
export class SendService {
  constructor(
    private readonly partners: PartnerCache,
    private readonly intake: Intake,
  ) {}

  send(req: Authenticated, now = new Date()): Promise<StoredMessage> {
    const { message, partnerMsgId } = this.validate(req, now);
    return this.intake.take(req.partner, message, partnerMsgId);
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

    const sender = this.intake.sender(partner, optional(get('source')), name('source'));
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
      if (!(v >= 1 && v <= MAX_VALIDITY_MINUTES)) throw new ProtocolError(400, `Invalid parameter: ${name('validity')} must be 1-${MAX_VALIDITY_MINUTES} minutes`);
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
