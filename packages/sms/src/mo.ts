/**
 * Mobile-originated messages arriving in `deliver_sm`: User Data Header parsing, data_coding
 * decoding, and reassembly of concatenated messages (PROTOCOL §6: the partner gets the full text).
 */
import { decodeGsm7Unpacked, decodeLatin1, decodeUcs2 } from './encoding';

/** esm_class bit 6: short_message starts with a User Data Header. */
const UDHI = 0x40;

export interface ConcatInfo {
  /** Concatenation reference, the same in every part of one message. */
  ref: number;
  /** Number of parts, 1..255. */
  total: number;
  /** This part's number, 1..total. */
  seq: number;
  /** Width of the reference: IE 0x00 (8) or IE 0x08 (16); SAR TLVs count as 16. */
  refBits: 8 | 16;
}

export interface ParsedUdh {
  /** Bytes the header takes at the start of the buffer, the length octet included (0: no header). */
  headerLength: number;
  concat?: ConcatInfo;
  /** What follows the header. */
  payload: Buffer;
}

/** The concat info of one IE, or undefined if it is not a valid concatenation IE. */
function concatFromIe(iei: number, data: Uint8Array): ConcatInfo | undefined {
  let info: ConcatInfo;
  if (iei === 0x00 && data.length === 3) {
    info = { ref: data[0], total: data[1], seq: data[2], refBits: 8 };
  } else if (iei === 0x08 && data.length === 4) {
    info = { ref: (data[0] << 8) | data[1], total: data[2], seq: data[3], refBits: 16 };
  } else {
    return undefined;
  }
  // 3GPP TS 23.040 §9.2.3.24.1: a receiver ignores a concatenation IE with a count of 0 or a
  // sequence number of 0 or above the count.
  return validConcat(info) ? info : undefined;
}

function validConcat(c: ConcatInfo): boolean {
  return c.total >= 1 && c.total <= 255 && c.seq >= 1 && c.seq <= c.total;
}

/** First valid concatenation IE in a run of `IEI, length, data` information elements. */
function concatFromIes(ies: Uint8Array): ConcatInfo | undefined {
  let i = 0;
  while (i + 2 <= ies.length) {
    const iei = ies[i];
    const len = ies[i + 1];
    if (i + 2 + len > ies.length) break; // truncated element: ignore it and the rest
    const concat = concatFromIe(iei, ies.subarray(i + 2, i + 2 + len));
    if (concat !== undefined) return concat;
    i += 2 + len;
  }
  return undefined;
}

/** Uint8Array check that also holds across realms (jest sandboxes). */
const isBytes = (x: unknown): x is Uint8Array => ArrayBuffer.isView(x) && !(x instanceof DataView);

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * Parses the User Data Header at the start of a short_message (call it only when esm_class has the
 * UDHI bit 0x40). Recognises concatenation IEs 0x00 (8-bit reference) and 0x08 (16-bit reference),
 * skips any other IE and ignores an invalid concatenation IE. A header whose length octet points
 * beyond the buffer is not a header: the result is `headerLength` 0 and the whole buffer as payload.
 */
export function parseUdh(buf: Uint8Array): ParsedUdh {
  const all = asBuffer(buf);
  if (all.length === 0 || all[0] + 1 > all.length) return { headerLength: 0, payload: all };
  const headerLength = all[0] + 1;
  const concat = concatFromIes(all.subarray(1, headerLength));
  const payload = all.subarray(headerLength);
  return concat === undefined ? { headerLength, payload } : { headerLength, concat, payload };
}

export type DataCodingAlphabet = 'gsm7' | 'ucs2' | 'latin1' | 'cyrillic';

/**
 * How a `data_coding` value is decoded:
 * - 0 SMSC default alphabet: GSM 03.38, unpacked septets (what SMSCs send over SMPP);
 * - 1 IA5/ASCII, 3 Latin-1, and the 8-bit/binary codings 2 and 4: Latin-1 (ASCII is a subset);
 * - 6 ISO-8859-5 (Cyrillic); 8 UCS-2;
 * - GSM 03.38 coding groups: 0x10-0x7F (general and auto-deletion groups, alphabet in bits 3-2:
 *   GSM-7 / 8-bit / UCS-2; compressed texts, bit 5, cannot be decompressed and come out as
 *   Latin-1), 0xC0-0xDF (message waiting, GSM-7), 0xE0-0xEF (message waiting, UCS-2),
 *   0xF0-0xFF (data coding / message class, bit 2: GSM-7 or 8-bit);
 * - anything else (JIS, Hebrew, KS C 5601, reserved values): Latin-1, so bytes are never lost.
 */
export function dataCodingAlphabet(dataCoding: number): DataCodingAlphabet {
  const dc = dataCoding & 0xff;
  if (dc === 0x00) return 'gsm7';
  if (dc === 0x06) return 'cyrillic';
  if (dc === 0x08) return 'ucs2';
  if (dc < 0x10) return 'latin1';
  if (dc < 0x80) {
    if (dc & 0x20) return 'latin1'; // compressed
    const alphabet = (dc >> 2) & 0x03;
    return alphabet === 0 ? 'gsm7' : alphabet === 2 ? 'ucs2' : 'latin1';
  }
  if (dc < 0xc0) return 'latin1'; // reserved coding groups
  if (dc < 0xe0) return 'gsm7';
  if (dc < 0xf0) return 'ucs2';
  return dc & 0x04 ? 'latin1' : 'gsm7';
}

/** ISO-8859-5: ASCII and C1 as in Latin-1; 0xA1-0xFF Cyrillic, except 0xAD (soft hyphen), 0xF0 (№), 0xFD (§). */
function decodeIso8859_5(buf: Uint8Array): string {
  let out = '';
  for (const b of buf) {
    if (b <= 0xa0 || b === 0xad) out += String.fromCharCode(b);
    else if (b === 0xf0) out += '\u2116';
    else if (b === 0xfd) out += '\u00a7';
    else out += String.fromCharCode(b + 0x360);
  }
  return out;
}

/** Decodes an SMPP short_message payload (UDH already removed) by its data_coding; see `dataCodingAlphabet`. */
export function decodeShortMessage(dataCoding: number, payload: Uint8Array): string {
  switch (dataCodingAlphabet(dataCoding)) {
    case 'gsm7':
      return decodeGsm7Unpacked(payload);
    case 'ucs2':
      return decodeUcs2(payload);
    case 'cyrillic':
      return decodeIso8859_5(payload);
    case 'latin1':
      return decodeLatin1(payload);
  }
}

/**
 * short_message / message_payload as an SMPP library may hand it over: the raw bytes (UDH
 * included when esm_class has UDHI), an already decoded string, or the `smpp` package's decoded
 * form `{ udh?: [IE buffers], message: string | Buffer }` (message stays a Buffer for codings the
 * library does not know).
 */
export type SmppMessageField =
  | Uint8Array
  | string
  | { udh?: ReadonlyArray<Uint8Array> | Uint8Array; message?: string | Uint8Array };

export interface MoPduInput {
  esm_class: number;
  data_coding?: number;
  short_message?: SmppMessageField;
  message_payload?: SmppMessageField;
  sar_msg_ref_num?: number;
  sar_total_segments?: number;
  sar_segment_seqnum?: number;
}

export interface MoSegment {
  text: string;
  /** Present for a part of a concatenated message, from the UDH or else the SAR TLVs. */
  concat?: ConcatInfo;
}

function isEmptyField(field: SmppMessageField | undefined): boolean {
  if (field === undefined) return true;
  if (typeof field === 'string' || isBytes(field)) return field.length === 0;
  return field.message === undefined || field.message.length === 0;
}

/** Text and UDH concat info of one message field. */
export function readMessageField(
  field: SmppMessageField | undefined,
  dataCoding: number,
  esmClass: number,
): { text: string; concat?: ConcatInfo } {
  if (field === undefined) return { text: '' };
  if (typeof field === 'string') return { text: field };
  if (isBytes(field)) {
    if ((esmClass & UDHI) === 0) return { text: decodeShortMessage(dataCoding, field) };
    const { concat, payload } = parseUdh(field);
    const text = decodeShortMessage(dataCoding, payload);
    return concat === undefined ? { text } : { text, concat };
  }
  const { udh, message } = field;
  const text = message === undefined ? '' : typeof message === 'string' ? message : decodeShortMessage(dataCoding, message);
  let concat: ConcatInfo | undefined;
  if (isBytes(udh)) concat = parseUdh(udh).concat;
  else if (udh !== undefined) for (const ie of udh) if ((concat = concatFromIes(ie)) !== undefined) break;
  return concat === undefined ? { text } : { text, concat };
}

/**
 * The text of an MO deliver_sm and its concatenation info: the UDH's concatenation IE when there
 * is one, else the SAR TLVs (sar_msg_ref_num / sar_total_segments / sar_segment_seqnum, all three
 * needed and consistent). The text is short_message, or message_payload when short_message is empty.
 */
export function readMoSegment(pdu: MoPduInput): MoSegment {
  const dataCoding = pdu.data_coding ?? 0;
  const field = isEmptyField(pdu.short_message) && pdu.message_payload !== undefined ? pdu.message_payload : pdu.short_message;
  const { text, concat } = readMessageField(field, dataCoding, pdu.esm_class);
  if (concat !== undefined) return { text, concat };
  const { sar_msg_ref_num: ref, sar_total_segments: total, sar_segment_seqnum: seq } = pdu;
  if (ref !== undefined && total !== undefined && seq !== undefined) {
    const sar: ConcatInfo = { ref: ref & 0xffff, total, seq, refBits: 16 };
    if (validConcat(sar)) return { text, concat: sar };
  }
  return { text };
}

/** Key of one concatenated MO: the parts of one message share sender, recipient, reference and count. */
export function concatKey(source: string, destination: string, concat: Pick<ConcatInfo, 'ref' | 'total'>): string {
  return `${source}|${destination}|${concat.ref}|${concat.total}`;
}

export interface ConcatPart {
  /** Identifies the message, see `concatKey`. */
  key: string;
  seq: number;
  total: number;
  text: string;
  /** Epoch milliseconds. */
  receivedAt: number;
}

export interface IncompleteConcat {
  key: string;
  /** The parts received, in seq order, joined without separator. */
  text: string;
  /** Parts received. */
  parts: number;
  total: number;
}

export type ConcatAddResult = ({ complete: true; text: string; parts: number } | { complete: false }) & {
  /** Sets flushed, incomplete, to stay within `maxOpenSets`; deliver them like expired ones. */
  evicted?: IncompleteConcat[];
};

export interface ConcatAssemblerOptions {
  /** Most messages waiting for parts at once (default 10 000). */
  maxOpenSets?: number;
}

interface OpenSet {
  total: number;
  parts: Map<number, string>;
  lastAt: number;
}

/**
 * Reassembles concatenated MO messages. Pure: the caller passes the time in and delivers what
 * comes out. A part with `total` ≤ 1, a `seq` outside 1..total, or a `total` other than that of
 * the open set with its key, is a message of its own.
 * A repeated `seq` is ignored (the first copy is kept). A set waiting longer than the timeout
 * since its latest part comes out of `expire` with the parts received; when more than
 * `maxOpenSets` sets are open, the one opened first is flushed the same way through `evicted`.
 */
export class ConcatAssembler {
  private readonly sets = new Map<string, OpenSet>();
  private readonly maxOpenSets: number;

  constructor(options: ConcatAssemblerOptions = {}) {
    const max = options.maxOpenSets ?? 10_000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxOpenSets must be a positive integer, got ${max}`);
    this.maxOpenSets = max;
  }

  /** Sets currently waiting for parts. */
  get openSets(): number {
    return this.sets.size;
  }

  add(part: ConcatPart): ConcatAddResult {
    const { key, seq, total, text, receivedAt } = part;
    if (!(total > 1) || !Number.isInteger(seq) || seq < 1 || seq > total) return { complete: true, text, parts: 1 };

    let set = this.sets.get(key);
    // Only a key that leaves out the count can bring this; never mix parts of different counts.
    if (set !== undefined && set.total !== total) return { complete: true, text, parts: 1 };
    let evicted: IncompleteConcat[] | undefined;
    if (set === undefined) {
      while (this.sets.size >= this.maxOpenSets) {
        const oldest = this.sets.keys().next().value as string;
        (evicted ??= []).push(this.take(oldest));
      }
      set = { total, parts: new Map(), lastAt: receivedAt };
      this.sets.set(key, set);
    }
    if (!set.parts.has(seq)) {
      set.parts.set(seq, text);
      set.lastAt = Math.max(set.lastAt, receivedAt);
    }
    if (set.parts.size < set.total) return evicted === undefined ? { complete: false } : { complete: false, evicted };
    const done = this.take(key);
    return { complete: true, text: done.text, parts: done.parts };
  }

  /** Removes and returns the sets whose latest part is `timeoutMs` or more older than `now`. */
  expire(now: number, timeoutMs: number): IncompleteConcat[] {
    const out: IncompleteConcat[] = [];
    for (const [key, set] of [...this.sets]) if (now - set.lastAt >= timeoutMs) out.push(this.take(key));
    return out;
  }

  /** Removes and returns every open set (e.g. on shutdown, so that nothing is lost silently). */
  flushAll(): IncompleteConcat[] {
    return [...this.sets.keys()].map((key) => this.take(key));
  }

  private take(key: string): IncompleteConcat {
    const set = this.sets.get(key);
    if (set === undefined) throw new Error(`no open set ${key}`);
    this.sets.delete(key);
    const seqs = [...set.parts.keys()].sort((a, b) => a - b);
    return { key, text: seqs.map((s) => set.parts.get(s)).join(''), parts: seqs.length, total: set.total };
  }
}
