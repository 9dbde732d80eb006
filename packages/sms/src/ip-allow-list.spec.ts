import { IpAllowList, clientAddress, parseAddress, socketAddress } from './ip-allow-list';

describe('IpAllowList', () => {
  const list = new IpAllowList(['127.0.0.1/32', '10.1.0.0/16', '203.0.113.7', '2001:db8::/32', '::1/128']);

  it.each([
    ['127.0.0.1', true],
    ['::ffff:127.0.0.1', true], // IPv4-mapped, as a dual-stack socket reports IPv4 peers
    ['127.0.0.2', false],
    ['10.1.255.3', true],
    ['10.2.0.1', false],
    ['203.0.113.7', true],
    ['203.0.113.8', false],
    ['2001:db8:1::5', true],
    ['2001:db9::1', false],
    ['::1', true],
  ])('%s allowed: %s', (addr, allowed) => {
    expect(list.allows(parseAddress(addr)!)).toBe(allowed);
  });

  it('an empty list allows nobody', () => {
    expect(new IpAllowList([]).allows(parseAddress('127.0.0.1')!)).toBe(false);
  });
});

describe('clientAddress', () => {
  const proxies = new IpAllowList(['10.0.0.0/8']);

  it('is the TCP peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('198.51.100.1', '127.0.0.1', new IpAllowList([]))!.toString()).toBe('198.51.100.1');
  });

  it('is the TCP peer when the peer is not a trusted proxy', () => {
    expect(clientAddress('198.51.100.1', '127.0.0.1', proxies)!.toString()).toBe('198.51.100.1');
  });

  it('reads X-Forwarded-For from the right, skipping trusted hops', () => {
    expect(clientAddress('10.0.0.5', '1.2.3.4, 198.51.100.9, 10.0.0.9', proxies)!.toString()).toBe('198.51.100.9');
  });

  it('refuses a malformed hop rather than guessing', () => {
    expect(clientAddress('10.0.0.5', 'garbage', proxies)).toBeNull();
  });
});

describe('socketAddress', () => {
  it('parses a socket peer once and reads IPv4-mapped IPv6 as IPv4', () => {
    const socket = { remoteAddress: '::ffff:198.51.100.7' };
    const first = socketAddress(socket);
    expect(first!.toString()).toBe('198.51.100.7');
    expect(socketAddress(socket)).toBe(first);
    // A trusted proxy's X-Forwarded-For is still read per request from the parsed peer.
    expect(clientAddress(first, '203.0.113.4', new IpAllowList(['198.51.100.0/24']))!.toString()).toBe('203.0.113.4');
  });

  it('gives null for a socket without an address, and does not remember it', () => {
    const socket: { remoteAddress?: string } = {};
    expect(socketAddress(socket)).toBeNull();
    socket.remoteAddress = '192.0.2.1';
    expect(socketAddress(socket)!.toString()).toBe('192.0.2.1');
    expect(socketAddress({ remoteAddress: 'not an address' })).toBeNull();
  });
});
