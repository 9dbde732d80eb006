import { Injectable } from '@nestjs/common';
import { Intake, MAX_BINARY_OCTETS, MAX_TEXT_CHARS, MAX_VALIDITY_MINUTES, PartnerCache, ProtocolError, type CachedPartner, type NewMessage } from '@smsgw/intake';
import {
  analyzeText,
  BINARY_SINGLE_OCTETS,
  binaryDataCoding,
  binarySegmentCount,
  binaryToHex,
  concatElement,
  ESM_CLASS_UDHI,
  fitsBinaryConcatSegment,
  fitsConcatSegment,
  isCompressedDataCoding,
  isConcatElement,
  normalizeMsisdn,
  parseSmppTime,
  parseUdh,
  readMoSegment,
  readUdh,
  SmppStatus,
  Tag,
  tlvValue,
  type ConcatPartHeader,
  type MoPduInput,
  type Pdu,
} from '@smsgw/sms';


/** What `submit_sm_resp` says: the stored message's id, or the refusal. */
export type SubmitOutcome = { ok: true; messageId: string } | { ok: false; status: number; reason: string };

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const refuse = (status: number, reason: string): SubmitOutcome => ({ ok: false, status, reason });

/**
 * The SMPP refusal closest to the HTTP API's answer for the same case (docs/protocol.md, SMPP
 * section): 408 rate limit → ESME_RTHROTTLED, 406 number → ESME_RINVDSTADR, 414 too long →
 * ESME_RINVMSGLEN, 500 and 503 (ours, temporary) → ESME_RSYSERR, the rest → ESME_RSUBMITFAIL.
 */
export function smppStatusOf(e: ProtocolError): number {
  switch (e.code) {
    case 408:
      return SmppStatus.ESME_RTHROTTLED;
    case 406:
      return SmppStatus.ESME_RINVDSTADR;
    case 414:
      return SmppStatus.ESME_RINVMSGLEN;
    case 500:
    case 503:
      return SmppStatus.ESME_RSYSERR;
    default:
      return SmppStatus.ESME_RSUBMITFAIL;
  }
}

/**
 * `submit_sm` (and `data_sm`, its text in message_payload) from a bound partner: the checks of
 * `/send` on the PDU's fields (8-bit data too, which `/send` does not take), then the same intake
 * (limits, store, hand-over to `mt.dispatch`). The answer carries the message's id only once the
 * message is stored.
 */
@Injectable()
export class SubmitService {
  constructor(
    private readonly partners: PartnerCache,
    private readonly intake: Intake,
  ) {}

  async submit(partnerId: number, pdu: Pdu, now = new Date()): Promise<SubmitOutcome> {
    const partner = this.partners.byPartnerId(partnerId);
    if (!partner || partner.row.status !== 'active') return refuse(SmppStatus.ESME_RSUBMITFAIL, 'partner blocked');
    if (partner.testPeriodOver(now.getTime())) return refuse(SmppStatus.ESME_RSUBMITFAIL, 'test period over');
    const checked = this.check(partner, pdu, now);
    if ('ok' in checked) return checked;
    try {
      const stored = await this.intake.take(partner, checked, checked.partnerMsgId);
      return { ok: true, messageId: stored.id };
    } catch (e) {
      if (e instanceof ProtocolError) return refuse(smppStatusOf(e), e.text);
      throw e;
    }
  }

  /** The message a submit_sm asks for, or its refusal. */
  private check(partner: CachedPartner, pdu: Pdu, now: Date): NewMessage | SubmitOutcome {
    const p = pdu.params;
    const row = partner.row;
    const dataCoding = Number(p.data_coding ?? 0);
    const dcHex = `0x${dataCoding.toString(16).padStart(2, '0')}`;
    if (isCompressedDataCoding(dataCoding)) return refuse(SmppStatus.ESME_RSUBMITFAIL, `data_coding ${dcHex} (compressed) is not taken`);
    if (dataCoding >= 0x10 && dataCoding < 0x80 && ((dataCoding >> 2) & 0x03) === 3) return refuse(SmppStatus.ESME_RSUBMITFAIL, `data_coding ${dcHex} (reserved alphabet) is not taken`);
    // data_sm has no short_message: its text is in message_payload.
    const shortMessage = (p.short_message as Buffer | undefined) ?? Buffer.alloc(0);
    const payload = tlvValue(pdu, Tag.message_payload);
    if (shortMessage.length > 0 && payload !== undefined) return refuse(SmppStatus.ESME_RINVOPTPARAMVAL, 'both short_message and message_payload');
    const esmClass = Number(p.esm_class ?? 0);
    const sarRef = tlvValue(pdu, Tag.sar_msg_ref_num);
    const sar = {
      sar_msg_ref_num: sarRef?.length === 2 ? sarRef.readUInt16BE(0) : undefined,
      sar_total_segments: tlvValue(pdu, Tag.sar_total_segments)?.[0],
      sar_segment_seqnum: tlvValue(pdu, Tag.sar_segment_seqnum)?.[0],
    };
    // GSM 03.38 message class 0 (general coding group with its class bits, or group 0xF0): a flash message.
    const flash = ((dataCoding & 0xd0) === 0x10 || (dataCoding & 0xf0) === 0xf0) && (dataCoding & 0x03) === 0;
    const binaryCoding = binaryDataCoding(dataCoding);
    const content =
      binaryCoding === null
        ? textContent({ esm_class: esmClass, data_coding: dataCoding, short_message: shortMessage, message_payload: payload, ...sar }, flash)
        : binaryContent(binaryCoding, esmClass, shortMessage.length > 0 ? shortMessage : (payload ?? Buffer.alloc(0)), sarPart(sar), flash);
    if ('ok' in content) return content;

    // The idempotency key, as /send's partnerMsgId: a repeat is answered with the first message's id.
    const ref = tlvValue(pdu, Tag.partner_msg_id);
    let partnerMsgId: string | null = null;
    if (ref !== undefined && ref.length > 0) {
      try {
        partnerMsgId = UTF8.decode(ref[ref.length - 1] === 0 ? ref.subarray(0, -1) : ref) || null;
      } catch {
        return refuse(SmppStatus.ESME_RINVOPTPARAMVAL, 'partner_msg_id is not UTF-8');
      }
      if (partnerMsgId !== null && (partnerMsgId.length > 50 || partnerMsgId.includes('\0'))) return refuse(SmppStatus.ESME_RINVOPTPARAMVAL, 'partner_msg_id is longer than 50 characters or contains a NUL');
    }

    const source = String(p.source_addr ?? '');
    let sender: string;
    try {
      sender = this.intake.sender(partner, source === '' ? null : source, 'source_addr');
    } catch (e) {
      if (e instanceof ProtocolError) return refuse(SmppStatus.ESME_RINVSRCADR, e.text);
      throw e;
    }
    const sourceTon = Number(p.source_addr_ton ?? 0);
    const alphanumeric = /[^0-9+]/.test(sender);
    if (source !== '' && (alphanumeric ? ![0, 5].includes(sourceTon) : ![0, 1, 2, 3, 6].includes(sourceTon))) {
      return refuse(SmppStatus.ESME_RINVSRCTON, `source_addr_ton ${sourceTon} does not fit ${alphanumeric ? 'an alphanumeric' : 'a numeric'} sender`);
    }

    const number = normalizeMsisdn(String(p.destination_addr ?? ''), row.default_country);
    if (!number.ok) return refuse(SmppStatus.ESME_RINVDSTADR, number.reason === 'malformed' ? 'not a phone number' : number.reason === 'not_mobile' ? 'not a mobile number' : 'invalid number');
    if (this.partners.isBlacklisted(number.msisdn)) return refuse(SmppStatus.ESME_RINVDSTADR, 'number is blacklisted');

    const schedule = parseSmppTime(String(p.schedule_delivery_time ?? ''), now);
    if (schedule === 'invalid') return refuse(SmppStatus.ESME_RINVSCHED, 'schedule_delivery_time is not an SMPP time');
    let releaseAt: Date | null = null;
    if (schedule !== null && schedule.getTime() > now.getTime()) {
      if (!row.postponed_enabled) return refuse(SmppStatus.ESME_RINVSCHED, 'postponed delivery is not enabled for this partner');
      if (schedule.getTime() > now.getTime() + row.postponed_horizon_days * 86_400_000) return refuse(SmppStatus.ESME_RINVSCHED, `more than ${row.postponed_horizon_days} days ahead`);
      releaseAt = schedule;
    }
    const startsAt = releaseAt ?? now;
    let validity = row.validity_minutes;
    // data_sm gives its validity as qos_time_to_live (seconds) instead.
    const ttl = tlvValue(pdu, Tag.qos_time_to_live);
    const expiry = ttl?.length === 4 ? new Date(startsAt.getTime() + ttl.readUInt32BE(0) * 1000) : parseSmppTime(String(p.validity_period ?? ''), startsAt);
    if (expiry === 'invalid') return refuse(SmppStatus.ESME_RINVEXPIRY, 'validity_period is not an SMPP time');
    if (expiry !== null) {
      const minutes = Math.ceil((expiry.getTime() - startsAt.getTime()) / 60_000);
      if (minutes < 1) return refuse(SmppStatus.ESME_RINVEXPIRY, 'validity_period ends before the message can be sent');
      validity = Math.min(minutes, MAX_VALIDITY_MINUTES, row.validity_minutes);
    }

    return {
      partnerId: partner.id,
      partnerMsgId,
      ptag: null,
      sender,
      msisdn: number.msisdn,
      text: content.text,
      encoding: content.encoding,
      segments: content.segments,
      flash,
      // priority_flag 1–3 (any priority) is the platform's high priority, as the connector sends it.
      priority: Number(p.priority_flag ?? 0) > 0 ? 2 : 1,
      test: row.test_mode,
      releaseAt,
      windowStart: null,
      windowEnd: null,
      windowZone: null,
      validUntil: new Date(startsAt.getTime() + validity * 60_000),
      concat: content.concat,
      udhi: content.udhi,
      // Bits 0–1 (final receipts: 0 none, 1 all, 2 failures only) and bit 4 (intermediate).
      registeredDelivery: Number(p.registered_delivery ?? 0) & 0x13,
    };
  }
}

/** What a submit_sm carries, as stored. */
interface Content {
  /** The text, or 8-bit data as lowercase hex. */
  text: string;
  encoding: number;
  segments: number;
  /** A part the partner cut itself. */
  concat: ConcatPartHeader | null;
  /** 8-bit data starting with the partner's own UDH, sent as it is. */
  udhi: boolean;
}

/** The SAR TLVs' part, when all three are there, consistent, and the message has more than one part. */
function sarPart(sar: { sar_msg_ref_num?: number; sar_total_segments?: number; sar_segment_seqnum?: number }): ConcatPartHeader | null {
  const { sar_msg_ref_num: ref, sar_total_segments: total, sar_segment_seqnum: seq } = sar;
  if (ref === undefined || total === undefined || seq === undefined) return null;
  return total > 1 && seq >= 1 && seq <= total ? { ref, total, seq } : null;
}

/** A text: decoded by its data_coding, its UDH (esm_class 0x40) removed, its part (UDH concatenation element, else SAR TLVs). */
function textContent(field: MoPduInput, flash: boolean): Content | SubmitOutcome {
  const { text, concat } = readMoSegment(field);
  const part = concat && concat.total > 1 ? { ref: concat.ref, total: concat.total, seq: concat.seq } : null;
  if (text === '' && !part) return refuse(SmppStatus.ESME_RINVMSGLEN, 'empty message');
  if (text.includes('\0')) return refuse(SmppStatus.ESME_RINVMSGLEN, 'the text contains a NUL character');
  const analysis = analyzeText(text);
  if (analysis.chars > MAX_TEXT_CHARS) return refuse(SmppStatus.ESME_RINVMSGLEN, `more than ${MAX_TEXT_CHARS} characters`);
  if (flash && analysis.segments > 1) return refuse(SmppStatus.ESME_RINVMSGLEN, 'a flash message must fit one SMS');
  // A part goes out as one segment behind the partner's header: it must fit one (in GSM-7 or,
  // for a text GSM-7 cannot hold, UCS-2).
  if (part && !fitsConcatSegment(text, part.ref)) return refuse(SmppStatus.ESME_RINVMSGLEN, `part ${part.seq} of ${part.total} does not fit one segment of a concatenated message`);
  return { text, encoding: analysis.dataCoding, segments: part ? 1 : analysis.segments, concat: part, udhi: false };
}

/**
 * 8-bit data (`dataCoding` as `binaryDataCoding` gives it), stored as hex:
 * - a UDH holding only a concatenation element, or SAR TLVs: a part, its data behind the header
 *   must fit one segment of a concatenated message (134 octets; 133 with a 16-bit reference);
 * - a UDH with any other element (port addressing for WAP push, say): kept, the whole user data
 *   (UDH and data) sent as it is in one SMS, at most 140 octets; SAR TLVs then add their
 *   concatenation element to it;
 * - else up to `MAX_BINARY_OCTETS`, split by the connector into segments as a text is.
 */
function binaryContent(dataCoding: number, esmClass: number, userData: Buffer, sar: ConcatPartHeader | null, flash: boolean): Content | SubmitOutcome {
  if (userData.length === 0 && !sar) return refuse(SmppStatus.ESME_RINVMSGLEN, 'empty message');
  let data = userData;
  let part = sar;
  if ((esmClass & ESM_CLASS_UDHI) !== 0) {
    const udh = readUdh(userData);
    if (!udh) return refuse(SmppStatus.ESME_RINVMSGLEN, 'esm_class 0x40 but short_message does not start with a whole User Data Header');
    const concat = parseUdh(userData).concat;
    const fromUdh = concat && concat.total > 1 ? { ref: concat.ref, total: concat.total, seq: concat.seq } : null;
    if (udh.elements.some((e) => !isConcatElement(e.iei))) {
      let kept = userData;
      if (!fromUdh && sar) {
        // The handset learns of the parts from the UDH only: the SAR TLVs' element joins the partner's.
        const element = concatElement(sar);
        kept = Buffer.concat([Buffer.from([udh.headerLength - 1 + element.length]), userData.subarray(1, udh.headerLength), element, userData.subarray(udh.headerLength)]);
      }
      if (kept.length > BINARY_SINGLE_OCTETS) return refuse(SmppStatus.ESME_RINVMSGLEN, `8-bit data with its own User Data Header must fit one SMS (${BINARY_SINGLE_OCTETS} octets, the header included)`);
      return { text: binaryToHex(kept), encoding: dataCoding, segments: 1, concat: fromUdh ?? sar, udhi: true };
    }
    data = userData.subarray(udh.headerLength);
    part = fromUdh ?? sar;
  }
  if (part) {
    if (!fitsBinaryConcatSegment(data.length, part.ref)) {
      return refuse(SmppStatus.ESME_RINVMSGLEN, `part ${part.seq} of ${part.total} does not fit one segment of a concatenated message (${data.length} octets)`);
    }
    return { text: binaryToHex(data), encoding: dataCoding, segments: 1, concat: part, udhi: false };
  }
  if (data.length === 0) return refuse(SmppStatus.ESME_RINVMSGLEN, 'empty message');
  if (data.length > MAX_BINARY_OCTETS) return refuse(SmppStatus.ESME_RINVMSGLEN, `more than ${MAX_BINARY_OCTETS} octets of 8-bit data`);
  const segments = binarySegmentCount(data.length);
  if (flash && segments > 1) return refuse(SmppStatus.ESME_RINVMSGLEN, 'a flash message must fit one SMS');
  return { text: binaryToHex(data), encoding: dataCoding, segments, concat: null, udhi: false };
}
