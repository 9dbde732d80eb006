/**
 * What the SMSC connector puts into `submit_sm`: data_coding, esm_class and short_message of every
 * segment of one MT text (PROTOCOL §9), plus the SMPP time format for `validity_period`.
 *
 * Segmentation is the one of `splitText` / `analyzeText` (encoding.ts), so the number of segments
 * submitted is always the number of segments counted and billed.
 */
import { analyzeText, encodeGsm7Unpacked, encodeUcs2, GSM7_SEGMENT_SEPTETS, splitText, UCS2_SEGMENT_UNITS } from './encoding';

/** SMPP data_coding: SMSC default alphabet, sent as GSM 03.38. */
export const DC_DEFAULT = 0x00;
/** SMPP data_coding: UCS-2 (UTF-16BE). */
export const DC_UCS2 = 0x08;
/** GSM 03.38 general data coding group, message class 0 (flash), default alphabet. */
export const DC_FLASH_GSM7 = 0x10;
/** GSM 03.38 general data coding group, message class 0 (flash), UCS-2. */
export const DC_FLASH_UCS2 = 0x18;

/** esm_class bit 6: short_message starts with a User Data Header. */
export const ESM_CLASS_UDHI = 0x40;

/** Information element identifier of "concatenated short messages, 8-bit reference". */
export const IEI_CONCAT_8BIT = 0x00;

/** Most segments a UDH with an 8-bit count can describe. */
export const MAX_CONCAT_SEGMENTS = 255;

export interface SubmitSegment {
  /** submit_sm data_coding. */
  dataCoding: number;
  /** submit_sm esm_class: 0, or 0x40 (UDHI) when the message is concatenated. */
  esmClass: number;
  /** submit_sm short_message: the UDH (if any) followed by the encoded payload. */
  shortMessage: Buffer;
  /** 1-based segment number. */
  seq: number;
  /** Number of segments of the message. */
  total: number;
}

export interface SubmitSegmentOptions {
  /** Class 0 (flash) SMS. Allowed for a concatenated text too; whether to permit it is the caller's rule. */
  flash?: boolean;
  /** Concatenation reference, 0..255, the same in every segment of one message. Ignored for one segment. */
  reference: number;
}

/**
 * Encodes a text into submit_sm segments.
 *
 * - GSM-7 text: data_coding 0 (flash: 0x10), unpacked septets, one per byte, 0x1B before an
 *   extension-table character. UCS-2 text: data_coding 8 (flash: 0x18), UTF-16BE.
 * - One segment: no UDH, esm_class 0.
 * - Several: esm_class 0x40 and the UDH `05 00 03 <reference> <total> <seq>` in front of at most
 *   153 septets / 134 bytes (67 UTF-16 units); an escape sequence or a surrogate pair is never split.
 *
 * Throws RangeError for a reference outside 0..255, or a text needing more than 255 segments
 * (the caller caps texts far below that: 2000 characters is at most 30 UCS-2 segments).
 */
export function buildSubmitSegments(text: string, opts: SubmitSegmentOptions): SubmitSegment[] {
  const { reference } = opts;
  if (!Number.isInteger(reference) || reference < 0 || reference > 0xff) {
    throw new RangeError(`concatenation reference must be an integer 0..255, got ${reference}`);
  }
  const { encoding } = analyzeText(text);
  const gsm = encoding === 'gsm7';
  const dataCoding = opts.flash === true ? (gsm ? DC_FLASH_GSM7 : DC_FLASH_UCS2) : gsm ? DC_DEFAULT : DC_UCS2;
  const encode = gsm ? encodeGsm7Unpacked : encodeUcs2;

  const parts = splitText(text);
  const total = parts.length;
  if (total > MAX_CONCAT_SEGMENTS) {
    throw new RangeError(`text needs ${total} segments, more than ${MAX_CONCAT_SEGMENTS}`);
  }
  if (total === 1) {
    return [{ dataCoding, esmClass: 0, shortMessage: encode(parts[0]), seq: 1, total: 1 }];
  }
  return parts.map((part, i) => {
    const seq = i + 1;
    const udh = concatPartUdh(reference, total, seq);
    return { dataCoding, esmClass: ESM_CLASS_UDHI, shortMessage: Buffer.concat([udh, encode(part)]), seq, total };
  });
}

/** Information element identifier of "concatenated short messages, 16-bit reference". */
export const IEI_CONCAT_16BIT = 0x08;

/** Where a part of a concatenated message, as a partner sent it, belongs: reference (above 255: 16-bit), count, number. */
export interface ConcatPartHeader {
  ref: number;
  total: number;
  seq: number;
}

/**
 * Whether `text` fits one segment of a concatenated message behind the header of reference `ref`:
 * 153 septets or 67 UTF-16 units behind the 6-octet header of an 8-bit reference; behind the
 * 7-octet header of a 16-bit one (a reference above 255), one septet or UTF-16 unit less (152, 66).
 */
export function fitsConcatSegment(text: string, ref = 0): boolean {
  const { encoding, units } = analyzeText(text);
  const wide = ref > 0xff ? 1 : 0;
  return units <= (encoding === 'gsm7' ? GSM7_SEGMENT_SEPTETS : UCS2_SEGMENT_UNITS) - wide;
}

/**
 * The one submit_sm of a part a partner sent of its own concatenated message: esm_class 0x40 and
 * the partner's header (`05 00 03 ref total seq`, or `06 08 04 refHi refLo total seq` for a
 * reference above 255) in front of the encoded text, so that the handset joins it with the other
 * parts. Throws RangeError for a header out of range or a text longer than one such segment.
 */
export function buildConcatPartSegment(text: string, header: ConcatPartHeader, opts: { flash?: boolean } = {}): SubmitSegment {
  const { ref, total, seq } = header;
  if (!Number.isInteger(ref) || ref < 0 || ref > 0xffff) throw new RangeError(`concatenation reference must be 0..65535, got ${ref}`);
  if (!Number.isInteger(total) || total < 2 || total > MAX_CONCAT_SEGMENTS || !Number.isInteger(seq) || seq < 1 || seq > total) {
    throw new RangeError(`part ${seq} of ${total} is not a concatenation part`);
  }
  if (!fitsConcatSegment(text, ref)) throw new RangeError('the part does not fit one segment of a concatenated message');
  const { encoding } = analyzeText(text);
  const gsm = encoding === 'gsm7';
  const dataCoding = opts.flash === true ? (gsm ? DC_FLASH_GSM7 : DC_FLASH_UCS2) : gsm ? DC_DEFAULT : DC_UCS2;
  return { dataCoding, esmClass: ESM_CLASS_UDHI, shortMessage: Buffer.concat([concatPartUdh(ref, total, seq), (gsm ? encodeGsm7Unpacked : encodeUcs2)(text)]), seq: 1, total: 1 };
}

/** The UDH of a part of a concatenated message: `05 00 03 ref total seq`, or `06 08 04 refHi refLo total seq` for a reference above 255. */
export function concatPartUdh(ref: number, total: number, seq: number): Buffer {
  return ref > 0xff ? Buffer.from([0x06, IEI_CONCAT_16BIT, 0x04, ref >> 8, ref & 0xff, total, seq]) : Buffer.from([0x05, IEI_CONCAT_8BIT, 0x03, ref, total, seq]);
}

/** Number of submit_sm a text takes; always `analyzeText(text).segments`. */
export function submitSegmentCount(text: string): number {
  return analyzeText(text).segments;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * SMPP 3.4 absolute time (§7.1.1) in UTC: `YYMMDDhhmmss` + tenths `0` + quarter-hour offset `00`
 * + `+`, e.g. `261201063000000+`. Seconds are truncated. This is the form every SMSC accepts for
 * `validity_period` and `schedule_delivery_time`; prefer it to the relative form.
 */
export function smppAbsoluteTime(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  return (
    pad2(date.getUTCFullYear() % 100) +
    pad2(date.getUTCMonth() + 1) +
    pad2(date.getUTCDate()) +
    pad2(date.getUTCHours()) +
    pad2(date.getUTCMinutes()) +
    pad2(date.getUTCSeconds()) +
    '000+'
  );
}

/**
 * SMPP 3.4 relative time `YYMMDDhhmmss000R` for a duration in whole seconds (fractions dropped),
 * expressed in days, hours, minutes and seconds only (years and months stay `00`, since their
 * length is ambiguous), e.g. 2880 minutes → `000002000000000R`. Some SMSCs do not support the
 * relative form: use `smppAbsoluteTime` unless one asks for it. Throws RangeError for a negative
 * duration or one of 100 days or more.
 */
export function smppRelativeTime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`invalid duration ${seconds}`);
  let rest = Math.floor(seconds);
  const days = Math.floor(rest / 86_400);
  if (days > 99) throw new RangeError(`duration of ${days} days does not fit the relative time format`);
  rest -= days * 86_400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  return '0000' + pad2(days) + pad2(hours) + pad2(minutes) + pad2(rest - minutes * 60) + '000R';
}

const SMPP_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d)(\d{2})([+\-R])$/;

/**
 * Reads an SMPP 3.4 time (§7.1.1) as a partner's `submit_sm` gives it in `schedule_delivery_time`
 * or `validity_period`: empty is null ("not given"); absolute `YYMMDDhhmmsstnn±` (tenths of a
 * second, then the local time's offset from UTC in quarter hours) or relative `YYMMDDhhmmss000R`
 * (from `now`; a year is 365 days, a month 30). Anything else, or a date that does not exist
 * (31 February, 25 o'clock), is 'invalid'. Years 00–99 are 2000–2099.
 */
export function parseSmppTime(value: string, now: Date): Date | null | 'invalid' {
  if (value === '') return null;
  const m = SMPP_TIME.exec(value);
  if (!m) return 'invalid';
  const [yy, mo, dd, hh, mi, ss, tenths, nn] = m.slice(1, 9).map(Number) as [number, number, number, number, number, number, number, number];
  const sign = m[9]!;
  if (sign === 'R') {
    if (tenths !== 0 || nn !== 0) return 'invalid';
    const seconds = ((((yy * 365 + mo * 30 + dd) * 24 + hh) * 60 + mi) * 60) + ss;
    return new Date(now.getTime() + seconds * 1000);
  }
  if (mo < 1 || mo > 12 || dd < 1 || hh > 23 || mi > 59 || ss > 59 || nn > 48) return 'invalid';
  const utc = Date.UTC(2000 + yy, mo - 1, dd, hh, mi, ss, tenths * 100);
  const check = new Date(utc);
  if (check.getUTCDate() !== dd || check.getUTCMonth() !== mo - 1) return 'invalid';
  // The time is local, `nn` quarter hours ahead of (+) or behind (-) UTC.
  return new Date(utc - (sign === '+' ? 1 : -1) * nn * 15 * 60_000);
}
