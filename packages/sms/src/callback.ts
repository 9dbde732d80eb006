/**
 * Callbacks to partners (PROTOCOL §5–§7): the URL of a DLR or MO push with the partner's own
 * parameter names, the `X-Signature` header and the MO `hash`. Pure: the callback worker sends
 * what these build, partners (and tests) verify with the same functions.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Parameters in the order they are sent; a null or undefined value is left out. */
export type CallbackParams = ReadonlyArray<readonly [canonicalName: string, value: string | number | null | undefined]>;

/**
 * The partner's URL with the parameters appended under the partner's names (`names` maps a
 * canonical name to the partner's; unmapped names stay canonical). The URL's own query string is
 * kept as the partner wrote it; a fragment is dropped (it is never sent). Names and values are
 * percent-encoded as UTF-8, a space as `%20`.
 */
export function buildCallbackUrl(baseUrl: string, params: CallbackParams, names: Readonly<Record<string, string>> = {}): string {
  return appendCallbackParams(callbackBaseUrl(baseUrl), params, names);
}

/**
 * The status or MO "URL" that sends a partner's reports or MO over its SMPP receiver and
 * transceiver binds (the SMPP server's deliver_sm) instead of HTTP.
 */
export const SMPP_CALLBACK_TARGET = 'smpp:';

/** `smpp:` in any case, around spaces. */
export function isSmppCallbackTarget(url: string | null | undefined): boolean {
  return typeof url === 'string' && url.trim().toLowerCase() === SMPP_CALLBACK_TARGET;
}

/**
 * The partner's URL checked (http or https) and without its fragment: what `appendCallbackParams`
 * extends. Parse it once per partner, append per callback.
 */
export function callbackBaseUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`callback URL must be http or https: ${u.protocol}`);
  return `${u.origin}${u.pathname}${u.search}`;
}

/** `buildCallbackUrl` for a URL that went through `callbackBaseUrl` already. */
export function appendCallbackParams(base: string, params: CallbackParams, names: Readonly<Record<string, string>> = {}): string {
  let url = base;
  let sep = base.includes('?') ? '&' : '?';
  for (const [canonical, value] of params) {
    if (value === null || value === undefined) continue;
    const renamed = names[canonical];
    const name = typeof renamed === 'string' && renamed !== '' ? renamed : canonical;
    url += `${sep}${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`;
    sep = '&';
  }
  return url;
}

/** The request target of a URL as it goes on the wire (`/path?query`): what the signature covers. */
export function callbackPathAndQuery(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

/** `X-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<path and query>")>`. */
export function signCallback(secret: string, pathAndQuery: string, nowSeconds: number): string {
  const t = Math.floor(nowSeconds);
  return `t=${t},v1=${signatureHex(secret, t, pathAndQuery)}`;
}

/**
 * Checks an `X-Signature` header against the request target as received (`req.url` in Node,
 * `REQUEST_URI` in PHP: not re-encoded). False when the header is malformed, the HMAC differs, or
 * `t` is more than `maxAgeSeconds` away from `nowSeconds` (either way: a replay, or a bad clock).
 * Several `v1` values are accepted, so a secret can be rotated without a gap.
 */
export function verifyCallbackSignature(
  secret: string,
  header: string | null | undefined,
  pathAndQuery: string,
  nowSeconds: number,
  maxAgeSeconds = 300,
): boolean {
  if (typeof header !== 'string') return false;
  let t: number | null = null;
  const candidates: string[] = [];
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === 't' && /^[0-9]{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) candidates.push(value.toLowerCase());
  }
  if (t === null || candidates.length === 0) return false;
  if (Math.abs(Math.floor(nowSeconds) - t) > maxAgeSeconds) return false;
  const expected = Buffer.from(signatureHex(secret, t, pathAndQuery), 'hex');
  return candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
}

/** MO `hash` parameter: base64 HMAC-SHA256(secret, clientId + message + messageId). */
export function moCallbackHash(secret: string, clientId: string, message: string, messageId: string): string {
  return createHmac('sha256', secret).update(`${clientId}${message}${messageId}`, 'utf8').digest('base64');
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, as `doneDate` and `receivedDate` are sent. */
export function formatCallbackDate(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

function signatureHex(secret: string, t: number, pathAndQuery: string): string {
  return createHmac('sha256', secret).update(`${t}.${pathAndQuery}`, 'utf8').digest('hex');
}
