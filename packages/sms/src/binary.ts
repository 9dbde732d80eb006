/**
 * 8-bit data (binary messages) as partners submit it over SMPP and the connector sends it: which
 * data_coding values are 8-bit data, how the octets are stored (lowercase hex in `message.text`,
 * since PostgreSQL text cannot hold a NUL), and the submit_sm segments they go out in.
 *
 * One SMS holds 140 octets of user data, its User Data Header included. Longer data is cut into
 * parts of 134 octets behind the concatenation UDH `05 00 03 ref total seq`, as texts are.
 */
import type { ConcatPartHeader, SubmitSegment } from './smpp-segments';
import { concatPartUdh, ESM_CLASS_UDHI, IEI_CONCAT_16BIT, IEI_CONCAT_8BIT, MAX_CONCAT_SEGMENTS } from './smpp-segments';

/** SMPP data_coding "octet unspecified (8-bit binary)": what 8-bit data without a message class is sent with. */
export const DC_BINARY = 0x04;

/** Octets of user data one SMS holds, its UDH included. */
export const BINARY_SINGLE_OCTETS = 140;

/** Octets of data in one segment of a concatenated message, behind its 6-octet UDH (8-bit reference). */
export const BINARY_SEGMENT_OCTETS = 134;

/**
 * The data_coding 8-bit data with `dataCoding` is stored and sent with, or null when `dataCoding`
 * is not 8-bit data:
 * - SMPP's 0x02 and 0x04 ("octet unspecified") are both 0x04;
 * - a GSM 03.38 coding group value with the 8-bit alphabet is kept as it is, so that its message
 *   class (or auto-deletion mark) reaches the handset: the general group 0x14–0x17 (classes 0–3),
 *   the auto-deletion group 0x44–0x47 and 0x54–0x57, and data coding / message class 0xF4–0xF7.
 *
 * Compressed coding groups (bit 5 set in 0x20–0x3F and 0x60–0x7F) are not 8-bit data here: see
 * `isCompressedDataCoding`.
 */
export function binaryDataCoding(dataCoding: number): number | null {
  const dc = dataCoding & 0xff;
  if (dc === 0x02 || dc === 0x04) return DC_BINARY;
  // 00xx / 01xx general and auto-deletion groups, uncompressed (bit 5 clear), alphabet 01 (8-bit).
  if (dc >= 0x10 && dc < 0x80 && (dc & 0x20) === 0 && ((dc >> 2) & 0x03) === 1) return dc;
  // 1111: data coding / message class, bit 2 set: 8-bit data.
  if (dc >= 0xf0 && (dc & 0x04) !== 0) return dc;
  return null;
}

/** A GSM 03.38 general or auto-deletion coding group value marking a compressed message (not taken). */
export function isCompressedDataCoding(dataCoding: number): boolean {
  const dc = dataCoding & 0xff;
  return dc >= 0x20 && dc < 0x80 && (dc & 0x20) !== 0;
}

/**
 * Whether a stored `message.encoding` is 8-bit data (its text is hex): anything but 0 (GSM-7) and
 * 8 (UCS-2).
 */
export function isBinaryEncoding(encoding: number): boolean {
  return encoding !== 0 && encoding !== 8;
}

/** Lowercase hex, as 8-bit data is stored in `message.text`. */
export function binaryToHex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}

/** The octets of a stored 8-bit message. Throws RangeError for text that is not hex (an even number of hex digits). */
export function binaryFromHex(text: string): Buffer {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new RangeError('8-bit data is not stored as hex');
  return Buffer.from(text, 'hex');
}

/** Number of submit_sm `octets` of 8-bit data (without a UDH of its own) take. */
export function binarySegmentCount(octets: number): number {
  if (!Number.isInteger(octets) || octets < 0) throw new RangeError(`invalid length ${octets}`);
  return octets <= BINARY_SINGLE_OCTETS ? 1 : Math.ceil(octets / BINARY_SEGMENT_OCTETS);
}

/** The concatenation information element (no UDH length octet) for `header`. */
export function concatElement(header: ConcatPartHeader): Buffer {
  return concatPartUdh(header.ref, header.total, header.seq).subarray(1);
}

/**
 * 8-bit data into submit_sm segments: up to 140 octets one segment, esm_class 0, no UDH; longer,
 * parts of 134 octets behind `05 00 03 <reference> <total> <seq>`, esm_class 0x40. Every segment
 * carries `dataCoding` (the stored one). Throws RangeError for a reference outside 0..255 or data
 * needing more than 255 segments.
 */
export function buildBinarySegments(data: Uint8Array, opts: { dataCoding: number; reference: number }): SubmitSegment[] {
  const { dataCoding, reference } = opts;
  if (!Number.isInteger(reference) || reference < 0 || reference > 0xff) {
    throw new RangeError(`concatenation reference must be an integer 0..255, got ${reference}`);
  }
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const total = binarySegmentCount(bytes.length);
  if (total > MAX_CONCAT_SEGMENTS) throw new RangeError(`data needs ${total} segments, more than ${MAX_CONCAT_SEGMENTS}`);
  if (total === 1) return [{ dataCoding, esmClass: 0, shortMessage: Buffer.from(bytes), seq: 1, total: 1 }];
  const out: SubmitSegment[] = [];
  for (let i = 0; i < total; i++) {
    const part = bytes.subarray(i * BINARY_SEGMENT_OCTETS, (i + 1) * BINARY_SEGMENT_OCTETS);
    out.push({ dataCoding, esmClass: ESM_CLASS_UDHI, shortMessage: Buffer.concat([concatPartUdh(reference, total, i + 1), part]), seq: i + 1, total });
  }
  return out;
}

/**
 * Whether `octets` of data fit one segment of a concatenated message behind the header for
 * reference `ref`: 134 octets (8-bit reference), 133 (16-bit, above 255).
 */
export function fitsBinaryConcatSegment(octets: number, ref: number): boolean {
  return octets <= BINARY_SINGLE_OCTETS - (ref > 0xff ? 7 : 6);
}

/**
 * The one submit_sm of a part of 8-bit data a partner cut itself: esm_class 0x40 and the
 * partner's reference, count and number (`05 00 03 …`, or `06 08 04 …` above 255) in front of the
 * data. Throws RangeError for a header out of range or data longer than one such segment.
 */
export function buildBinaryPartSegment(data: Uint8Array, header: ConcatPartHeader, dataCoding: number): SubmitSegment {
  const { ref, total, seq } = header;
  if (!Number.isInteger(ref) || ref < 0 || ref > 0xffff) throw new RangeError(`concatenation reference must be 0..65535, got ${ref}`);
  if (!Number.isInteger(total) || total < 2 || total > MAX_CONCAT_SEGMENTS || !Number.isInteger(seq) || seq < 1 || seq > total) {
    throw new RangeError(`part ${seq} of ${total} is not a concatenation part`);
  }
  if (!fitsBinaryConcatSegment(data.length, ref)) throw new RangeError('the part does not fit one segment of a concatenated message');
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { dataCoding, esmClass: ESM_CLASS_UDHI, shortMessage: Buffer.concat([concatPartUdh(ref, total, seq), bytes]), seq: 1, total: 1 };
}

/** One information element of a User Data Header. */
export interface UdhElement {
  iei: number;
  data: Buffer;
}

/**
 * The information elements of the UDH at the start of `userData` (its first octet is the UDH's
 * length), and where the data after it starts; null when the header runs past the end or an
 * element runs past the header's end.
 */
export function readUdh(userData: Uint8Array): { elements: UdhElement[]; headerLength: number } | null {
  const all = Buffer.from(userData.buffer, userData.byteOffset, userData.byteLength);
  if (all.length === 0) return null;
  const headerLength = all[0]! + 1;
  if (headerLength > all.length) return null;
  const elements: UdhElement[] = [];
  let i = 1;
  while (i < headerLength) {
    if (i + 2 > headerLength) return null;
    const len = all[i + 1]!;
    if (i + 2 + len > headerLength) return null;
    elements.push({ iei: all[i]!, data: all.subarray(i + 2, i + 2 + len) });
    i += 2 + len;
  }
  return { elements, headerLength };
}

/** Whether a UDH information element is a concatenation one (8- or 16-bit reference). */
export function isConcatElement(iei: number): boolean {
  return iei === IEI_CONCAT_8BIT || iei === IEI_CONCAT_16BIT;
}

/**
 * The one submit_sm of 8-bit data that carries the partner's own UDH (port addressing, say),
 * sent as it is: esm_class 0x40 and `userData` (UDH and data) untouched. Throws RangeError when
 * `userData` does not start with a whole UDH or is longer than one SMS.
 */
export function buildUdhSegment(userData: Uint8Array, dataCoding: number): SubmitSegment {
  if (readUdh(userData) === null) throw new RangeError('the data does not start with a User Data Header');
  if (userData.length > BINARY_SINGLE_OCTETS) throw new RangeError(`${userData.length} octets do not fit one SMS`);
  return { dataCoding, esmClass: ESM_CLASS_UDHI, shortMessage: Buffer.from(userData), seq: 1, total: 1 };
}
