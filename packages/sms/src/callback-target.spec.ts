import {
  CallbackTargetRefused,
  parseAllowPrivateTargets,
  refusedAddressReason,
  refusedHostNameReason,
  resolveCallbackHost,
  type Resolver,
} from './callback-target';

/** The host a URL names, as undici and Node will see it (WHATWG URL normalises IPv4 spellings). */
const hostOf = (url: string) => new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');

describe('callback target addresses', () => {
  // [address, expected reason (a substring) or null for allowed]
  const table: Array<[string, string | null]> = [
    // public
    ['8.8.8.8', null],
    ['93.184.216.34', null],
    ['1.1.1.1', null],
    ['2606:4700:4700::1111', null],
    ['2a00:1450:4001:82b::200e', null],
    ['::ffff:8.8.8.8', null],
    ['64:ff9b::8.8.8.8', null],
    ['2002:0808:0808::1', null],
    // loopback
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    // unspecified
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    // private and CGNAT
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    // link-local, unique-local, site-local
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fec0::1', 'site-local'],
    // multicast, broadcast, reserved
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['100::1', 'discard'],
    // cloud metadata
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.170.2', 'cloud metadata'],
    ['100.100.100.200', 'cloud metadata'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    // IPv4 inside IPv6
    ['::ffff:127.0.0.1', 'IPv4-mapped form of 127.0.0.1, loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped form of 127.0.0.1, loopback'],
    ['0:0:0:0:0:ffff:7f00:0001', 'IPv4-mapped form of 127.0.0.1, loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated form of 127.0.0.1'],
    // ipaddr.js reads `::a.b.c.d` as mapped (`::ffff:a.b.c.d`); either way the IPv4 inside decides.
    ['::127.0.0.1', 'form of 127.0.0.1, loopback'],
    ['::7f00:1', 'IPv4-compatible form of 127.0.0.1'],
    ['::8.8.8.8', null],
    ['64:ff9b::127.0.0.1', 'NAT64 form of 127.0.0.1'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 form of 169.254.169.254, a cloud metadata'],
    ['64:ff9b:1::1', 'local-use NAT64'],
    ['2002:7f00:1::1', '6to4 form of 127.0.0.1'],
    ['2002:c0a8:0101::1', '6to4 form of 192.168.1.1, private'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    // not an address at all
    ['localhost', 'not an IP address'],
    ['', 'not an IP address'],
  ];

  it.each(table)('%s -> %s', (address, reason) => {
    const got = refusedAddressReason(address);
    if (reason === null) expect(got).toBeNull();
    else expect(got).toContain(reason);
  });

  // WHATWG URL (what undici parses) turns odd IPv4 spellings into dotted decimal, so the worker
  // and the save-time check see the same address whatever the partner wrote.
  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://017700000001/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://127.0.0.1./', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
    ['http://0xa9.0xfe.0xa9.0xfe/latest', '169.254.169.254'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[::ffff:7f00:1]:8080/', '::ffff:7f00:1'],
    ['http://[0:0:0:0:0:0:0:1]/', '::1'],
    ['http://[::127.0.0.1]/', '::7f00:1'],
    ['http://[64:ff9b::7f00:1]/', '64:ff9b::7f00:1'],
  ])('%s is host %s and refused', async (url, host) => {
    expect(hostOf(url)).toBe(host);
    expect(refusedAddressReason(hostOf(url))).not.toBeNull();
    await expect(resolveCallbackHost(new URL(url).hostname, failResolver)).rejects.toBeInstanceOf(CallbackTargetRefused);
  });
});

const failResolver: Resolver = async () => {
  throw new Error('an IP literal must not be looked up');
};
const fixed = (...addresses: string[]): Resolver => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('callback target host names', () => {
  it.each([
    ['localhost', 'loopback'],
    ['LOCALHOST.', 'loopback'],
    ['api.localhost', 'loopback'],
    ['metadata.google.internal', 'cloud metadata'],
    ['metadata.google.internal.', 'cloud metadata'],
    ['metadata.goog', 'cloud metadata'],
    ['instance-data.ec2.internal', 'cloud metadata'],
    ['db.corp.internal', '.internal'],
  ])('%s is refused by name (%s)', async (name, reason) => {
    expect(refusedHostNameReason(name)).toContain(reason);
    const e = await resolveCallbackHost(name, fixed('8.8.8.8')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CallbackTargetRefused);
    expect((e as CallbackTargetRefused).address).toBeNull();
  });

  it('a public name with only public addresses passes, with every address', async () => {
    expect(refusedHostNameReason('hooks.partner.example')).toBeNull();
    await expect(resolveCallbackHost('hooks.partner.example', fixed('93.184.216.34', '2606:2800:220:1::1'))).resolves.toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]);
  });

  it('one internal address among public ones refuses the name, naming that address', async () => {
    const e = (await resolveCallbackHost('mixed.example', fixed('93.184.216.34', '10.0.0.5')).catch((x: unknown) => x)) as CallbackTargetRefused;
    expect(e).toBeInstanceOf(CallbackTargetRefused);
    expect(e).toMatchObject({ host: 'mixed.example', address: '10.0.0.5', code: 'ECALLBACK_TARGET_REFUSED' });
    expect(e.reason).toContain('private');
    expect(e.message).toContain('CALLBACK_ALLOW_PRIVATE_TARGETS');
  });

  it('a name resolving to nothing is "not found"; a resolver error passes through', async () => {
    await expect(resolveCallbackHost('empty.example', fixed())).rejects.toMatchObject({ code: 'ENOTFOUND' });
    const down: Resolver = async () => {
      throw Object.assign(new Error('queryA EAI_AGAIN'), { code: 'EAI_AGAIN' });
    };
    await expect(resolveCallbackHost('x.example', down)).rejects.toMatchObject({ code: 'EAI_AGAIN' });
  });

  it('the system resolver: localhost from /etc/hosts is refused by name before any lookup', async () => {
    await expect(resolveCallbackHost('localhost')).rejects.toBeInstanceOf(CallbackTargetRefused);
  });
});

describe('CALLBACK_ALLOW_PRIVATE_TARGETS', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['false', false],
    ['0', false],
    ['off', false],
    ['No', false],
    ['true', true],
    ['1', true],
    ['yes', true],
    [' ON ', true],
  ])('%p -> %p', (value, expected) => {
    expect(parseAllowPrivateTargets(value)).toBe(expected);
  });

  it('anything else is an error, not a guess', () => {
    expect(() => parseAllowPrivateTargets('maybe')).toThrow('CALLBACK_ALLOW_PRIVATE_TARGETS: "maybe" is not a yes/no value');
  });
});
