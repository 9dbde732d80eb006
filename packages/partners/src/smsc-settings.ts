import * as ipaddr from 'ipaddr.js';
import { bool, int, list, SettingError, settingText, type SettingSpec } from './partner-settings';

/** An SMSC connection setting as the CLI exposes it; `required` ones must be given to `smsc create`. */
export interface SmscSettingSpec extends SettingSpec {
  required?: boolean;
}

export const BIND_MODES = ['transceiver', 'transmitter_receiver'] as const;

/** SMPP 3.4 C-Octet Strings: the limits below are the spec's sizes minus the terminating NUL. */
function smppString(min: number, max: number, pattern: RegExp, chars: string) {
  return (v: string): string => {
    if (v.length < min || v.length > max) throw new SettingError(`${min === 0 ? `at most ${max}` : `${min} to ${max}`} characters in SMPP 3.4 (got ${v.length})`);
    if (!pattern.test(v)) throw new SettingError(`only ${chars} allowed`);
    return v;
  };
}

function name(v: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) throw new SettingError(`"${v}" is not a connection name: 1-64 characters of letters, digits, _ . -`);
  return v;
}

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A host name, an IPv4 address in dotted form, or an IPv6 address (brackets allowed). */
function host(v: string): string {
  const h = v.trim().replace(/^\[(.*)\]$/, '$1');
  if (ipaddr.IPv4.isValidFourPartDecimal(h) || ipaddr.IPv6.isValid(h)) return h;
  const labels = h.replace(/\.$/, '').split('.');
  if (h.length > 0 && h.length <= 253 && labels.every((l) => LABEL.test(l)) && !/^[0-9.]+$/.test(h)) return h;
  throw new SettingError(`"${v}" is not a host name, IPv4 or IPv6 address`);
}

function bindMode(v: string): string {
  if (!(BIND_MODES as readonly string[]).includes(v)) throw new SettingError(`"${v}" is not a bind mode: use ${BIND_MODES.join(' or ')}`);
  return v;
}

/** MSISDN prefixes (international form); '' or `all`: every number. */
function routes(v: string): string[] {
  if (v.trim() === '' || v.trim().toLowerCase() === 'all') return [];
  const out: string[] = [];
  for (const entry of list(v)) {
    if (!/^\+?[0-9]{1,15}$/.test(entry)) throw new SettingError(`"${entry}" is not a number prefix: 1-15 digits in international form, e.g. 7 or 7903`);
    const prefix = entry.replace(/^\+/, '');
    if (!out.includes(prefix)) out.push(prefix);
  }
  return out;
}

export const SMSC_SETTINGS: SmscSettingSpec[] = [
  { option: 'name', field: 'name', required: true, description: 'unique name of the connection (1-64 of A-Z a-z 0-9 _ . -)', parse: name },
  { option: 'host', field: 'host', required: true, description: 'host name or IP address of the SMSC', parse: host },
  { option: 'port', field: 'port', required: true, description: 'SMPP port of the SMSC (usually 2775)', parse: int(1, 65535) },
  { option: 'system-id', field: 'systemId', required: true, description: 'system_id to bind with (1-15 characters)', parse: smppString(1, 15, /^[\x21-\x7e]*$/, 'printable ASCII without spaces') },
  { option: 'password', field: 'password', required: true, description: 'password to bind with (at most 8 characters); stored as given, never printed', parse: smppString(0, 8, /^[\x20-\x7e]*$/, 'printable ASCII') },
  { option: 'system-type', field: 'systemType', description: 'system_type to bind with (at most 12 characters; "" or none for empty)', parse: (v) => smppString(0, 12, /^[\x21-\x7e]*$/, 'printable ASCII without spaces')(v === 'none' ? '' : v) },
  { option: 'bind-mode', field: 'bindMode', description: `${BIND_MODES.join(' or ')} (one transceiver bind, or a transmitter and a receiver bind); default transceiver`, parse: bindMode },
  { option: 'tps', field: 'tps', description: 'submit_sm per second the connector sends at most; default 100', parse: int(1, 100_000) },
  { option: 'window', field: 'window', description: 'submit_sm sent without a response yet, at most; default 50', parse: int(1, 10_000) },
  { option: 'routes', field: 'routes', description: 'comma-separated number prefixes this SMSC serves, e.g. 7903,7905 ("" or all: every number, the default)', parse: routes },
  { option: 'priority', field: 'priority', description: 'order among connections whose routes match, lower first; default 0', parse: int(0, 1000) },
  { option: 'enabled', field: 'enabled', description: 'bound and used (true/false); default true', parse: bool },
];

/** The parsed settings given as options; each error names its option. */
export function smscSettingsFrom(opts: Record<string, unknown>, by: 'option' | 'field' = 'option'): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const s of SMSC_SETTINGS) {
    const raw = opts[by === 'field' ? s.field : s.option.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (raw === undefined) continue;
    try {
      data[s.field] = s.parse(by === 'field' ? settingText(raw) : String(raw));
    } catch (e) {
      if (e instanceof SettingError) throw new SettingError(by === 'field' ? e.message : `--${s.option}: ${e.message}`, s.field);
      throw e;
    }
  }
  return data;
}
