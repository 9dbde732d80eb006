import { encodeGsm7Unpacked, encodeUcs2, isGsm7 } from '@smsgw/sms';
import { ESM_CLASS_UDHI } from '../smpp/protocol';

export type MoEncoding = 'auto' | 'gsm7' | 'ucs2' | 'latin1';
export type MoConcat = 'udh8' | 'udh16' | 'sar';

/** A request the simulator cannot turn into SMS (answered 400). */
export class MoInputError extends Error {}

export interface MoSegment {
  /** 1-based. */
  seq: number;
  total: number;
  esmClass: number;
  dataCoding: number;
  /** UDH (if any) followed by the encoded text. */
  shortMessage: Buffer;
  sar: { msgRefNum: number; totalSegments: number; segmentSeqnum: number } | null;
}

type Alphabet = 'gsm7' | 'ucs2' | 'latin1';

interface Limits {
  /** Units in an unsplit message. */
  single: number;
  /** Units per segment with an 8-bit reference UDH (6 octets) or with SAR (the SMSC adds that UDH). */
  withUdh8: number;
  /** Units per segment with a 16-bit reference UDH (7 octets). */
  withUdh16: number;
  dataCoding: number;
  width(ch: string): number;
  encode(text: string): Buffer;
}

// 140 octets of user data: GSM-7 counts septets, UCS-2 UTF-16 units, Latin-1 octets.
const LIMITS: Record<Alphabet, Limits> = {
  gsm7: { single: 160, withUdh8: 153, withUdh16: 152, dataCoding: 0x00, width: (ch) => encodeGsm7Unpacked(ch).length, encode: encodeGsm7Unpacked },
  ucs2: { single: 70, withUdh8: 67, withUdh16: 66, dataCoding: 0x08, width: (ch) => ch.length, encode: encodeUcs2 },
  latin1: { single: 140, withUdh8: 134, withUdh16: 133, dataCoding: 0x03, width: () => 1, encode: (t) => Buffer.from(t, 'latin1') },
};

function resolveAlphabet(text: string, encoding: MoEncoding): Alphabet {
  switch (encoding) {
    case 'auto':
      return isGsm7(text) ? 'gsm7' : 'ucs2';
    case 'gsm7':
      if (!isGsm7(text)) throw new MoInputError('text has characters outside the GSM 03.38 alphabet');
      return 'gsm7';
    case 'latin1':
      for (const ch of text) {
        if ((ch.codePointAt(0) ?? 0) > 0xff) throw new MoInputError('text has characters outside Latin-1');
      }
      return 'latin1';
    case 'ucs2':
      return 'ucs2';
  }
}

/**
 * Splits code point by code point, so that neither a two-septet GSM character nor a surrogate pair
 * is cut; for GSM-7 and UCS-2 with 8-bit references this matches `splitText` of @smsgw/sms.
 */
export function splitByUnits(text: string, width: (ch: string) => number, single: number, perSegment: number): string[] {
  let total = 0;
  for (const ch of text) total += width(ch);
  if (total <= single) return [text];
  const parts: string[] = [];
  let current = '';
  let filled = 0;
  for (const ch of text) {
    const w = width(ch);
    if (filled + w > perSegment) {
      parts.push(current);
      current = '';
      filled = 0;
    }
    current += ch;
    filled += w;
  }
  parts.push(current);
  return parts;
}

/** The deliver_sm contents of one MO, split into concatenated segments if it does not fit one SMS. */
export function buildMoSegments(
  text: string,
  options: { encoding: MoEncoding; concat: MoConcat; reference: number },
): MoSegment[] {
  const limits = LIMITS[resolveAlphabet(text, options.encoding)];
  const perSegment = options.concat === 'udh16' ? limits.withUdh16 : limits.withUdh8;
  const parts = splitByUnits(text, limits.width, limits.single, perSegment);
  if (parts.length > 255) throw new MoInputError(`text needs ${parts.length} segments, at most 255 are possible`);
  const total = parts.length;
  const ref8 = options.reference & 0xff;
  const ref16 = options.reference & 0xffff;

  return parts.map((part, i) => {
    const seq = i + 1;
    const body = limits.encode(part);
    const base = { seq, total, dataCoding: limits.dataCoding };
    if (total === 1) return { ...base, esmClass: 0, shortMessage: body, sar: null };
    switch (options.concat) {
      case 'udh8':
        return { ...base, esmClass: ESM_CLASS_UDHI, shortMessage: Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref8, total, seq]), body]), sar: null };
      case 'udh16':
        return {
          ...base,
          esmClass: ESM_CLASS_UDHI,
          shortMessage: Buffer.concat([Buffer.from([0x06, 0x08, 0x04, ref16 >> 8, ref16 & 0xff, total, seq]), body]),
          sar: null,
        };
      case 'sar':
        return { ...base, esmClass: 0, shortMessage: body, sar: { msgRefNum: ref16, totalSegments: total, segmentSeqnum: seq } };
    }
  });
}
