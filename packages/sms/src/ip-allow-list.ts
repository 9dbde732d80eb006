import * as ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** An allow-list of IPv4/IPv6 addresses and CIDR ranges, compiled once per settings change. */
export class IpAllowList {
  private readonly ranges: Range[];

  constructor(entries: readonly string[]) {
    this.ranges = entries.map(parseRange);
  }

  allows(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
    for (const [net, bits] of this.ranges) {
      if (net.kind() === address.kind() && address.match(net as never, bits)) return true;
    }
    return false;
  }

  get size(): number {
    return this.ranges.length;
  }
}

/** `10.0.0.0/8`, `2001:db8::/32` or a single address; IPv4-mapped IPv6 is read as IPv4. */
export function parseRange(entry: string): Range {
  const s = entry.trim();
  if (s.includes('/')) {
    const [addr, bits] = ipaddr.parseCIDR(s);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return [addr, bits];
  }
  const addr = ipaddr.process(s);
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

/** Parses a socket address (IPv4-mapped IPv6 becomes IPv4); null for anything unparsable. */
export function parseAddress(s: string | undefined): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!s) return null;
  try {
    return ipaddr.process(s.trim());
  } catch {
    return null;
  }
}

export type Address = ipaddr.IPv4 | ipaddr.IPv6;

// A connection's peer never changes: parse it once per socket, not once per request on a
// keep-alive connection (parsing was a few per cent of the ingress's CPU).
const peers = new WeakMap<object, Address | null>();

/** The socket's peer address, parsed once per socket; null when it has none or it is unparsable. */
export function socketAddress(socket: { remoteAddress?: string }): Address | null {
  let address = peers.get(socket);
  if (address === undefined) {
    address = parseAddress(socket.remoteAddress);
    // A socket not yet connected (or already destroyed) has no address: not cached.
    if (socket.remoteAddress !== undefined) peers.set(socket, address);
  }
  return address;
}

/**
 * The client address: the TCP peer, unless the peer is a trusted proxy; then X-Forwarded-For is
 * read from the right, skipping trusted hops. The first untrusted hop is the client.
 */
export function clientAddress(
  peer: string | Address | null | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: IpAllowList,
): Address | null {
  const peerAddr = typeof peer === 'string' || peer === undefined ? parseAddress(peer) : peer;
  if (!peerAddr || trusted.size === 0 || !trusted.allows(peerAddr) || !forwardedFor) return peerAddr;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let candidate = peerAddr;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseAddress(hops[i]);
    if (!hop) return null; // a forged or broken header never grants access
    candidate = hop;
    if (!trusted.allows(hop)) return hop;
  }
  return candidate;
}
