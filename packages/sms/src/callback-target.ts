/**
 * Where callbacks may go. Partners' status and MO URLs are pushed to by the callback worker from
 * inside the platform's network, so a URL aimed at loopback, a private network or a cloud
 * metadata service would let whoever sets it make the worker reach internal services (SSRF). The
 * operator CLI and the portal refuse such URLs when they are saved; the worker checks again each
 * time it connects, on the address it actually connects to (DNS may have changed in between).
 *
 * CALLBACK_ALLOW_PRIVATE_TARGETS=true turns both checks off: development and tests, whose
 * partners are local servers, and closed deployments whose partners really are on a private net.
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import * as ipaddr from 'ipaddr.js';

/** The operator setting, read by the callback worker, the admin CLI and the portal alike. */
export const ALLOW_PRIVATE_TARGETS_ENV = 'CALLBACK_ALLOW_PRIVATE_TARGETS';

/**
 * CALLBACK_ALLOW_PRIVATE_TARGETS as a boolean: unset or empty is off. Anything but a clear yes or
 * no throws, so a typo never opens (or silently keeps closed) what the operator meant.
 */
export function parseAllowPrivateTargets(value: string | undefined): boolean {
  const v = (value ?? '').trim();
  if (v === '' || /^(0|false|no|off)$/i.test(v)) return false;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  throw new Error(`${ALLOW_PRIVATE_TARGETS_ENV}: "${value}" is not a yes/no value (use true or false)`);
}

export function privateTargetsAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return parseAllowPrivateTargets(env[ALLOW_PRIVATE_TARGETS_ENV]);
}

/** Cloud metadata services: named apart from their range so the reason says what was at stake. */
const METADATA_ADDRESSES: ReadonlyArray<[string, number]> = [
  ['169.254.169.254', 32], // AWS, GCP, Azure, OpenStack, ...
  ['169.254.170.2', 32], // AWS ECS task metadata
  ['100.100.100.200', 32], // Alibaba Cloud
  ['fd00:ec2::254', 128], // AWS over IPv6
];
const METADATA = METADATA_ADDRESSES.map(([a, bits]) => [ipaddr.parse(a), bits] as const);

/** Host names that never lead anywhere public, whatever a resolver says. */
const REFUSED_NAMES = new Set(['localhost', 'metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

/** ipaddr.js range names, as an operator reads them. */
const RANGE_TEXT: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  private: 'private (RFC 1918)',
  uniqueLocal: 'unique-local (fc00::/7)',
  deprecatedSiteLocal: 'site-local (fec0::/10)',
  teredo: 'a Teredo tunnel',
  discard: 'discard-only (100::/64)',
};

/**
 * Why a connection to `address` (an IP literal, any spelling ipaddr.js reads, an IPv6 zone
 * allowed) is refused, or null for a public unicast address. Only ipaddr.js's `unicast` (public)
 * range passes; IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged
 * by that IPv4 address.
 */
export function refusedAddressReason(address: string): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address.replace(/^\[(.*)\]$/, '$1'));
  } catch {
    return 'not an IP address';
  }
  for (const [net, bits] of METADATA) {
    if (ip.kind() === net.kind() && ip.match(net as never, bits)) return 'a cloud metadata address';
  }
  if (ip.kind() === 'ipv4') {
    const range = ip.range();
    return range === 'unicast' ? null : (RANGE_TEXT[range] ?? `reserved (${range})`);
  }
  const v6 = ip as ipaddr.IPv6;
  const embedded = embeddedIPv4(v6);
  if (embedded) {
    const inner = refusedAddressReason(embedded.ip.toString());
    return inner ? `${embedded.form} of ${embedded.ip.toString()}, ${inner}` : null;
  }
  const range = v6.range();
  if (range === 'unicast') return null;
  if (range === 'rfc6052') return 'a local-use NAT64 address (64:ff9b:1::/48)';
  return RANGE_TEXT[range] ?? `reserved (${range})`;
}

/**
 * The IPv4 address an IPv6 address stands for, where the kernel or a translator would reach that
 * IPv4 host: ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (SIIT), ::a.b.c.d (the deprecated
 * "compatible" form, never public), 64:ff9b::a.b.c.d (well-known NAT64) and 2002:aabb:ccdd::/48 (6to4).
 */
function embeddedIPv4(ip: ipaddr.IPv6): { form: string; ip: ipaddr.IPv4 } | null {
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  const zero = (n: number) => p.slice(0, n).every((x) => x === 0);
  if (zero(5) && p[5] === 0xffff) return { form: 'an IPv4-mapped form', ip: v4(p[6]!, p[7]!) };
  if (zero(4) && p[4] === 0xffff && p[5] === 0) return { form: 'an IPv4-translated form', ip: v4(p[6]!, p[7]!) };
  if (zero(6) && (p[6] !== 0 || p[7]! > 1)) return { form: 'an IPv4-compatible form', ip: v4(p[6]!, p[7]!) };
  if (p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) return { form: 'a NAT64 form', ip: v4(p[6]!, p[7]!) };
  if (p[0] === 0x2002) return { form: 'a 6to4 form', ip: v4(p[1]!, p[2]!) };
  return null;
}

/**
 * Why a host name is refused before any lookup (localhost and cloud metadata names, the
 * `.localhost` and `.internal` private-use domains), or null. A trailing dot is ignored.
 */
export function refusedHostNameReason(hostname: string): string | null {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (REFUSED_NAMES.has(name)) return name === 'localhost' ? 'loopback' : 'a cloud metadata host';
  if (name.endsWith('.localhost')) return 'loopback';
  if (name.endsWith('.internal')) return 'a private-use name (.internal)';
  return null;
}

/** A callback target refused by policy: what the operator needs to know, kept out of partners' view. */
export class CallbackTargetRefused extends Error {
  /** Lets code that sees only error codes (the HTTP sender) recognise it. */
  readonly code = 'ECALLBACK_TARGET_REFUSED';
  constructor(
    readonly host: string,
    /** The refused address; null when the name itself is refused. */
    readonly address: string | null,
    readonly reason: string,
  ) {
    super(`${host}${address && address !== host ? ` (${address})` : ''} is ${reason}; callbacks go to public addresses only (${ALLOW_PRIVATE_TARGETS_ENV} is off)`);
    this.name = 'CallbackTargetRefused';
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a name has, as `dns.lookup` (getaddrinfo, /etc/hosts included) gives them. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => {
  const all = await dns.lookup(hostname, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** `[::1]` -> `::1`: URL.hostname keeps the brackets of an IPv6 literal. */
export function bareHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * The addresses to connect to for `hostname` (a name or an IP literal, brackets allowed), every
 * one of them checked. Throws CallbackTargetRefused if the name or any of its addresses is
 * refused: one private address among public ones is still a way in (the connection may pick it),
 * so the whole name is refused. A failed lookup throws the resolver's error. `classify` is
 * `refusedAddressReason` but for tests of the plumbing around it.
 */
export async function resolveCallbackHost(
  hostname: string,
  resolve: Resolver = systemResolver,
  classify: (address: string) => string | null = refusedAddressReason,
): Promise<ResolvedAddress[]> {
  const host = bareHost(hostname);
  // Literal exactly when Node's net.connect takes it as one (and skips the lookup); anything else
  // goes through the resolver, which also turns getaddrinfo's odd numeric spellings into addresses.
  const family = isIP(host);
  if (family === 4 || family === 6) {
    const reason = classify(host);
    if (reason) throw new CallbackTargetRefused(host, host, reason);
    return [{ address: host, family }];
  }
  const named = refusedHostNameReason(host);
  if (named) throw new CallbackTargetRefused(host, null, named);
  const addresses = await resolve(host);
  if (addresses.length === 0) throw Object.assign(new Error(`${host}: no address`), { code: 'ENOTFOUND' });
  for (const a of addresses) {
    const reason = classify(a.address);
    if (reason) throw new CallbackTargetRefused(host, a.address, reason);
  }
  return addresses;
}

/**
 * The save-time check of a status or MO URL: its host resolved now and every address checked.
 * Only the scheme and host matter; the URL was parsed before.
 */
export async function checkCallbackUrl(url: string, resolve: Resolver = systemResolver): Promise<void> {
  await resolveCallbackHost(new URL(url).hostname, resolve);
}
