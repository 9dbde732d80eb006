import { isUtf8 } from 'node:buffer';

/**
 * Request parameters decoded from `application/x-www-form-urlencoded` (query string or body).
 * Values that are not valid UTF-8 after percent-decoding are kept apart so that the request is
 * answered 400 instead of storing mojibake.
 */
export class Params {
  readonly values = new Map<string, string>();
  readonly invalid = new Set<string>();

  get(name: string): string | undefined {
    return this.values.get(name);
  }
  has(name: string): boolean {
    return this.values.has(name) || this.invalid.has(name);
  }
  /** Later sources win: body parameters override the query string's. */
  merge(other: Params): void {
    for (const [k, v] of other.values) {
      this.values.set(k, v);
      this.invalid.delete(k);
    }
    for (const k of other.invalid) {
      this.values.delete(k);
      this.invalid.add(k);
    }
  }
}

const PERCENT_OR_PLUS = /[%+]/;
// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/** Decodes one name or value; null when the bytes are not UTF-8 or an escape is malformed. */
export function decodeComponent(raw: string): string | null {
  if (!PERCENT_OR_PLUS.test(raw)) {
    // Raw non-ASCII in a request line arrives as latin1 bytes: re-read them as UTF-8.
    return NON_ASCII.test(raw) ? bytesToUtf8(Buffer.from(raw, 'latin1')) : raw;
  }
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return null;
      out[n++] = hi * 16 + lo;
      i += 2;
    } else if (c === 0x2b /* + */) {
      out[n++] = 0x20;
    } else if (c > 0xff) {
      return null;
    } else {
      out[n++] = c;
    }
  }
  return bytesToUtf8(out.subarray(0, n));
}

function bytesToUtf8(buf: Buffer): string | null {
  return isUtf8(buf) ? buf.toString('utf8') : null;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Parses `a=1&b=2`; the first occurrence of a name wins. */
export function parseUrlEncoded(input: string): Params {
  const params = new Params();
  if (!input) return params;
  let start = 0;
  while (start <= input.length) {
    let end = input.indexOf('&', start);
    if (end === -1) end = input.length;
    if (end > start) {
      const pair = input.slice(start, end);
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
      const name = decodeComponent(rawName);
      if (name !== null && !params.has(name)) {
        const value = decodeComponent(rawValue);
        if (value === null) params.invalid.add(name);
        else params.values.set(name, value);
      }
    }
    start = end + 1;
  }
  return params;
}

/** The query string of a raw request URL. */
export function queryOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? '' : url.slice(q + 1);
}
