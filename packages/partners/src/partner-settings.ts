// Every partner setting an operator can change, with its validation: one list for the CLI's
// options (`--rate-limit 50`) and the portal's forms and JSON API (`rateLimit`).
import { randomBytes } from 'node:crypto';
import * as ipaddr from 'ipaddr.js';
import { isSupportedCountry } from 'libphonenumber-js';
import { CALLBACK_PARAMS, REQUEST_PARAMS } from '@smsgw/contracts';
import { isSmppCallbackTarget, resolveZone, SMPP_CALLBACK_TARGET } from '@smsgw/sms';

/** A partner setting as the CLI exposes it: option, column, parser and description. */
export interface SettingSpec {
  option: string;
  field: string;
  description: string;
  parse(value: string): unknown;
}

/** A setting value that does not parse; `field` names the setting when it is known. */
export class SettingError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const bool = (v: string): boolean => {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new SettingError(`"${v}" is not a yes/no value (use true or false)`);
};
export const int = (min: number, max: number) => (v: string): number => {
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || n < min || n > max) throw new SettingError(`"${v}" must be a whole number from ${min} to ${max}`);
  return n;
};
export const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);
const nullable = <T>(f: (v: string) => T) => (v: string): T | null => (v === '' || v === 'none' ? null : f(v));
/** A setting whose null means "the service's default": "default", "none" or "" give null. */
const orDefault = <T>(f: (v: string) => T) => (v: string): T | null => (v === 'default' ? null : nullable(f)(v));

function ipList(v: string): string[] {
  return list(v).map((entry) => {
    try {
      if (entry.includes('/')) ipaddr.parseCIDR(entry);
      else ipaddr.parse(entry);
      return entry;
    } catch {
      throw new SettingError(`"${entry}" is not an IPv4/IPv6 address or CIDR range`);
    }
  });
}

function url(v: string): string {
  if (isSmppCallbackTarget(v)) return SMPP_CALLBACK_TARGET;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new SettingError(`"${v}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SettingError(`"${v}" must be an http or https URL, or ${SMPP_CALLBACK_TARGET} for the partner's SMPP binds`);
  return v;
}

function zone(v: string): string {
  try {
    resolveZone(v);
    return v;
  } catch {
    throw new SettingError(`"${v}" is not a time zone (an IANA name like Europe/Moscow, or ±hh:mm)`);
  }
}

function country(v: string): string {
  const c = v.toUpperCase();
  if (!isSupportedCountry(c)) throw new SettingError(`"${v}" is not an ISO 3166 country code with a numbering plan`);
  return c;
}

function date(v: string): Date {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new SettingError(`"${v}" is not a date (use ISO 8601, e.g. 2026-12-31T23:59:59+03:00)`);
  return d;
}

/** `clientId=to,message=text`: a rename map checked against the protocol's parameter names. */
function renames(allowed: readonly string[]) {
  return (v: string): Record<string, string> => {
    const map: Record<string, string> = {};
    for (const pair of list(v)) {
      const [from, to] = pair.split('=').map((s) => s?.trim());
      if (!from || !to || !allowed.includes(from)) throw new SettingError(`"${pair}": use canonical=name with canonical one of ${allowed.join(', ')}`);
      if (!/^[A-Za-z0-9_.-]{1,50}$/.test(to)) throw new SettingError(`"${to}" is not a usable parameter name`);
      map[from] = to;
    }
    return map;
  };
}

export const SETTINGS: SettingSpec[] = [
  { option: 'name', field: 'name', description: 'display name', parse: (v) => v },
  { option: 'status', field: 'status', description: 'active or blocked', parse: (v) => { if (v !== 'active' && v !== 'blocked') throw new SettingError('status is active or blocked'); return v; } },
  { option: 'allowed-ips', field: 'allowedIps', description: 'comma-separated IPv4/IPv6 addresses and CIDR ranges', parse: ipList },
  { option: 'senders', field: 'senders', description: 'comma-separated allowed senders', parse: list },
  { option: 'default-sender', field: 'defaultSender', description: 'sender used when `source` is absent', parse: nullable((v) => v) },
  { option: 'dynamic-signature', field: 'dynamicSignature', description: 'any valid sender allowed (true/false)', parse: bool },
  { option: 'status-url', field: 'statusUrl', description: 'URL for delivery reports ("smpp:" over the partner\'s SMPP binds, "none" to clear)', parse: nullable(url) },
  { option: 'mo-url', field: 'moUrl', description: 'URL for incoming messages ("smpp:" over the partner\'s SMPP binds, "none" to clear)', parse: nullable(url) },
  { option: 'polling', field: 'pollingEnabled', description: 'may poll /status (true/false)', parse: bool },
  { option: 'intermediate-reports', field: 'intermediateReports', description: 'also report status 0 (true/false)', parse: bool },
  { option: 'request-params', field: 'requestParamNames', description: `renamed request parameters, e.g. clientId=to,message=text (canonical: ${REQUEST_PARAMS.join(' ')})`, parse: renames(REQUEST_PARAMS) },
  { option: 'callback-params', field: 'callbackParamNames', description: `renamed callback parameters, e.g. clientId=msisdn,transactionId=id (canonical: ${CALLBACK_PARAMS.join(' ')})`, parse: renames(CALLBACK_PARAMS) },
  { option: 'rate-limit', field: 'rateLimit', description: 'messages per second', parse: int(1, 100_000) },
  { option: 'validity', field: 'validityMinutes', description: 'default and maximum validity, minutes', parse: int(1, 2880) },
  { option: 'postponed', field: 'postponedEnabled', description: 'send_at allowed (true/false)', parse: bool },
  { option: 'postponed-horizon-days', field: 'postponedHorizonDays', description: 'how far ahead send_at may be', parse: int(1, 366) },
  { option: 'time-zone', field: 'timeZone', description: 'IANA zone or ±hh:mm for send_at and sending_time', parse: zone },
  { option: 'country', field: 'defaultCountry', description: 'ISO country for national numbers (e.g. RU)', parse: country },
  { option: 'duplicate-filter', field: 'duplicateFilter', description: 'refuse the same text to the same number (true/false)', parse: bool },
  { option: 'duplicate-max', field: 'duplicateMax', description: 'same text to same number allowed this many times per window', parse: int(1, 1000) },
  { option: 'duplicate-window-hours', field: 'duplicateWindowHours', description: 'duplicate filter window', parse: int(1, 168) },
  {
    option: 'callback-concurrency',
    field: 'callbackConcurrency',
    description: 'callback requests in flight to this partner at once, across all callback workers, 1-1000 ("default": the workers\' CALLBACK_PARTNER_CONCURRENCY); for delivery reports, and for MO when mo-order is subscriber',
    parse: orDefault(int(1, 1000)),
  },
  {
    option: 'mo-order',
    field: 'moOrder',
    description: 'order of MO pushes: "partner" (every MO in arrival order, one request at a time) or "subscriber" (each subscriber\'s MO in order, different subscribers in parallel up to callback-concurrency)',
    parse: (v) => {
      if (v !== 'partner' && v !== 'subscriber') throw new SettingError('mo-order is partner or subscriber');
      return v;
    },
  },
  {
    option: 'smpp-max-binds',
    field: 'smppMaxBinds',
    description: 'SMPP binds this partner may hold at once, 1-1000 ("default": the SMPP server\'s default)',
    parse: orDefault(int(1, 1000)),
  },
  { option: 'signing-secret', field: 'signingSecret', description: 'secret for X-Signature ("generate" for a random one, "none" to clear)', parse: nullable((v) => v) },
  { option: 'test-mode', field: 'testMode', description: 'test mode (true/false)', parse: bool },
  { option: 'test-quota', field: 'testQuota', description: 'messages allowed in test mode', parse: int(0, 10_000_000) },
  { option: 'test-ends-at', field: 'testEndsAt', description: 'end of the test period, ISO 8601 ("none" for no end)', parse: nullable(date) },
  { option: 'test-real-delivery', field: 'testRealDelivery', description: 'test messages go to real operators (true/false)', parse: bool },
];

/** `--allowed-ips` -> `allowedIps`: the key commander gives an option's value. */
export function camel(option: string): string {
  return option.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * A JSON value as the CLI would have typed it: arrays comma-separated, rename maps as
 * `canonical=name` pairs, null as "" (which clears a nullable setting).
 */
export function settingText(value: unknown): string {
  if (value === null) return '';
  if (Array.isArray(value)) return value.map(String).join(',');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(',');
  return String(value);
}

/**
 * The settings present in `input` (keyed by camel-cased option, which is also the field name for
 * all but a few), parsed. `by: 'field'` reads `input[field]` instead (the portal's JSON). A
 * `signingSecret` of "generate" becomes a random secret. Throws a SettingError naming the field.
 */
export function parsePartnerSettings(input: Record<string, unknown>, by: 'option' | 'field' = 'option'): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const raw = input[by === 'field' ? s.field : camel(s.option)];
    if (raw === undefined) continue;
    try {
      data[s.field] = s.parse(settingText(raw));
    } catch (e) {
      if (e instanceof SettingError) throw new SettingError(e.message, s.field);
      throw e;
    }
  }
  if (data.signingSecret === 'generate') data.signingSecret = randomBytes(32).toString('base64url');
  return data;
}

/** A partner login (serviceId): 1-64 of letters, digits, _ . - */
export function checkLogin(login: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(login)) throw new SettingError('login: 1-64 characters of letters, digits, _ . -', 'login');
  return login;
}

/** A service number subscribers send MO to, without a leading +. */
export function checkServiceNumber(number: string): string {
  if (!/^\+?[0-9A-Za-z]{1,15}$/.test(number)) throw new SettingError(`"${number}" is not a service number`, 'serviceNumbers');
  return number.replace(/^\+/, '');
}
