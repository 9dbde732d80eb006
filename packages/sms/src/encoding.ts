/**
 * GSM 03.38 / UCS-2 text analysis and segmentation (PROTOCOL §9).
 */

/** Escape septet that announces a character from the extension table. */
export const GSM7_ESCAPE = 0x1b;

/**
 * GSM 03.38 default alphabet: the character at index `i` is septet `i`. Index 0x1B holds the
 * escape control code, which is not a character of its own.
 */
export const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅå' +
  'Δ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ' +
  ' !"#¤%&\'()*+,-./' +
  '0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNO' +
  'PQRSTUVWXYZÄÖÑÜ§' +
  '¿abcdefghijklmno' +
  'pqrstuvwxyzäöñüà';

/** GSM 03.38 extension table: character → septet sent after the escape. */
export const GSM7_EXTENSION: ReadonlyMap<string, number> = new Map([
  ['\f', 0x0a],
  ['^', 0x14],
  ['{', 0x28],
  ['}', 0x29],
  ['\\', 0x2f],
  ['[', 0x3c],
  ['~', 0x3d],
  [']', 0x3e],
  ['|', 0x40],
  ['€', 0x65],
]);

const BASIC_CODE: ReadonlyMap<string, number> = new Map(
  [...GSM7_BASIC].map((ch, code) => [ch, code] as const).filter(([, code]) => code !== GSM7_ESCAPE),
);
const EXTENSION_CHAR: ReadonlyMap<number, string> = new Map([...GSM7_EXTENSION].map(([ch, code]) => [code, ch]));

export const GSM7_SINGLE_SEPTETS = 160;
export const GSM7_SEGMENT_SEPTETS = 153;
export const UCS2_SINGLE_UNITS = 70;
export const UCS2_SEGMENT_UNITS = 67;

export type TextEncoding = 'gsm7' | 'ucs2';

export interface TextAnalysis {
  encoding: TextEncoding;
  /** SMPP data_coding: 0 (SMSC default alphabet, sent as GSM-7) or 8 (UCS-2). */
  dataCoding: 0 | 8;
  /** Septets for gsm7, UTF-16 code units for ucs2. */
  units: number;
  segments: number;
  /** Unicode code points. */
  chars: number;
}

/** Septets a character takes in GSM-7, or 0 if it is not in the alphabet. */
function gsm7Septets(ch: string): 0 | 1 | 2 {
  if (BASIC_CODE.has(ch)) return 1;
  if (GSM7_EXTENSION.has(ch)) return 2;
  return 0;
}

export function isGsm7(text: string): boolean {
  for (const ch of text) if (gsm7Septets(ch) === 0) return false;
  return true;
}

interface Layout {
  encoding: TextEncoding;
  units: number;
  chars: number;
  /** UTF-16 offsets where each segment ends; the last one is `text.length`. */
  ends: number[];
}

/**
 * Packs the text into segments code point by code point, so a two-septet extension character or a
 * surrogate pair never straddles a boundary (a segment may then hold one unit less than the limit).
 */
function layout(text: string): Layout {
  const gsm = isGsm7(text);
  const width = gsm ? (ch: string): number => gsm7Septets(ch) : (ch: string): number => ch.length;
  const [single, perSegment] = gsm
    ? [GSM7_SINGLE_SEPTETS, GSM7_SEGMENT_SEPTETS]
    : [UCS2_SINGLE_UNITS, UCS2_SEGMENT_UNITS];

  let units = 0;
  let chars = 0;
  for (const ch of text) {
    units += width(ch);
    chars++;
  }
  const encoding: TextEncoding = gsm ? 'gsm7' : 'ucs2';
  if (units <= single) return { encoding, units, chars, ends: [text.length] };

  const ends: number[] = [];
  let offset = 0;
  let filled = 0;
  for (const ch of text) {
    const w = width(ch);
    if (filled + w > perSegment) {
      ends.push(offset);
      filled = 0;
    }
    filled += w;
    offset += ch.length;
  }
  ends.push(offset);
  return { encoding, units, chars, ends };
}

export function analyzeText(text: string): TextAnalysis {
  const { encoding, units, chars, ends } = layout(text);
  return { encoding, dataCoding: encoding === 'gsm7' ? 0 : 8, units, segments: ends.length, chars };
}

/** The text of each SMS segment, split exactly as `analyzeText` counts them. */
export function splitText(text: string): string[] {
  const { ends } = layout(text);
  let start = 0;
  return ends.map((end) => {
    const part = text.slice(start, end);
    start = end;
    return part;
  });
}

/** One septet per byte, escape before extension characters. Throws on a character outside GSM-7. */
export function encodeGsm7Unpacked(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const basic = BASIC_CODE.get(ch);
    if (basic !== undefined) {
      out.push(basic);
      continue;
    }
    const ext = GSM7_EXTENSION.get(ch);
    if (ext === undefined) {
      throw new RangeError(`character U+${ch.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')} is not in GSM 03.38`);
    }
    out.push(GSM7_ESCAPE, ext);
  }
  return Buffer.from(out);
}

/** UTF-16 big-endian; characters outside the BMP become surrogate pairs. */
export function encodeUcs2(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

const REPLACEMENT = '\ufffd';

/**
 * Decodes unpacked septets. As GSM 03.38 asks, an escape followed by a code the extension table
 * does not define shows the default-alphabet character of that code; a trailing escape is dropped;
 * bytes above 0x7F (not septets) become U+FFFD.
 */
export function decodeGsm7Unpacked(buf: Uint8Array): string {
  let out = '';
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b > 0x7f) {
      out += REPLACEMENT;
    } else if (b !== GSM7_ESCAPE) {
      out += GSM7_BASIC[b];
    } else if (i + 1 < buf.length) {
      const next = buf[++i];
      if (next > 0x7f) out += REPLACEMENT;
      else out += EXTENSION_CHAR.get(next) ?? (next === GSM7_ESCAPE ? ' ' : GSM7_BASIC[next]);
    }
  }
  return out;
}

/** UTF-16 big-endian; a dangling odd byte becomes U+FFFD. */
export function decodeUcs2(buf: Uint8Array): string {
  const even = buf.length - (buf.length % 2);
  const text = Buffer.from(buf.subarray(0, even)).swap16().toString('utf16le');
  return even === buf.length ? text : text + REPLACEMENT;
}

export function decodeLatin1(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1');
}
