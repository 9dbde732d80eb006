// The connect-time check with undici as the sender uses it, against a real HTTP server on
// 127.0.0.1: every refused connection must leave that server untouched.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { CallbackTargetRefused, checkCallbackUrl, type Resolver } from '@smsgw/sms';
import { guardedConnector } from './guarded-connector';

let server: http.Server;
let port: number;
let connections = 0;
const hosts: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    res.end('OK');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  connections = 0;
});

/** A resolver answering from a script, one answer per call (the last repeats), counting calls. */
function scripted(...answers: string[][]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    calls.push(host);
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    return answer.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
  };
  return Object.assign(resolve, { calls });
}

async function get(url: string, resolve: Resolver, classify?: (address: string) => string | null): Promise<unknown> {
  const agent = new Agent({ connect: guardedConnector({ timeout: 2000, resolve, classify }) });
  try {
    const res = await request(url, { dispatcher: agent });
    await res.body.dump();
    return res.statusCode;
  } catch (e) {
    return e;
  } finally {
    await agent.close();
  }
}

const never = scripted([]);

describe('guarded connector', () => {
  it.each([
    ['http://127.0.0.1:PORT/dlr', '127.0.0.1', 'loopback'],
    ['http://2130706433:PORT/', '127.0.0.1', 'loopback'],
    ['http://0x7f.1:PORT/', '127.0.0.1', 'loopback'],
    ['http://127.1:PORT/', '127.0.0.1', 'loopback'],
    ['http://[::ffff:127.0.0.1]:PORT/', '::ffff:7f00:1', 'IPv4-mapped form of 127.0.0.1, loopback'],
    ['http://[::1]:PORT/', '::1', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'cloud metadata'],
    ['http://0.0.0.0:PORT/', '0.0.0.0', 'unspecified'],
  ])('refuses the IP literal of %s without connecting (no lookup either)', async (url, address, reason) => {
    const e = await get(url.replace('PORT', String(port)), never);
    expect(e).toBeInstanceOf(CallbackTargetRefused);
    expect(e).toMatchObject({ address });
    expect((e as CallbackTargetRefused).reason).toContain(reason);
    expect(never.calls).toEqual([]);
    expect(connections).toBe(0);
  });

  it('refuses localhost by name, before any lookup', async () => {
    const e = await get(`http://localhost:${port}/`, never);
    expect(e).toMatchObject({ host: 'localhost', address: null, reason: 'loopback' });
    expect(connections).toBe(0);
  });

  it('refuses a name that resolves to loopback, naming the address', async () => {
    const dns = scripted(['127.0.0.1']);
    const e = await get(`http://hooks.partner.example:${port}/dlr`, dns);
    expect(e).toBeInstanceOf(CallbackTargetRefused);
    expect(e).toMatchObject({ host: 'hooks.partner.example', address: '127.0.0.1' });
    expect(dns.calls).toEqual(['hooks.partner.example']);
    expect(connections).toBe(0);
  });

  it('refuses a name with one internal address among public ones', async () => {
    const e = await get(`http://mixed.partner.example:${port}/`, scripted(['93.184.216.34', '127.0.0.1']));
    expect(e).toMatchObject({ address: '127.0.0.1' });
    expect(connections).toBe(0);
  });

  it('DNS rebinding: public when the URL was saved, loopback at delivery: not connected', async () => {
    const dns = scripted(['93.184.216.34'], ['127.0.0.1']);
    const url = `http://rebind.partner.example:${port}/dlr`;
    await expect(checkCallbackUrl(url, dns)).resolves.toBeUndefined(); // the save-time check passes
    const e = await get(url, dns);
    expect(e).toMatchObject({ host: 'rebind.partner.example', address: '127.0.0.1' });
    expect(dns.calls).toHaveLength(2);
    expect(connections).toBe(0);
  });

  it('one lookup per connection, and its checked answer is what Node connects to (no second lookup to rebind)', async () => {
    // Loopback first, then a public answer: had Node looked the name up again after the check,
    // it would have got the public address and the error would not be a refusal.
    const dns = scripted(['127.0.0.1'], ['93.184.216.34']);
    const e = await get(`http://once.partner.example:${port}/`, dns);
    expect(e).toMatchObject({ address: '127.0.0.1' });
    expect(dns.calls).toEqual(['once.partner.example']);
    expect(connections).toBe(0);
  });

  // The plumbing on the allowed path, with 127.0.0.1 standing in for a public address: the name
  // reaches the server through the one checked lookup (IPv4 and IPv6 answers, Node's
  // autoSelectFamily asking for all addresses), and the policy still sees every address.
  describe('allowed addresses (a local server standing in for a public one)', () => {
    const onlyLoopbackV4 = (address: string) => (address === '127.0.0.1' ? null : 'not the stand-in');

    it('a name connects to the checked address, with Host kept as the name', async () => {
      const seen: string[] = [];
      const dns = scripted(['127.0.0.1']);
      const e = await get(`http://stand-in.partner.example:${port}/dlr`, dns, (a) => (seen.push(a), onlyLoopbackV4(a)));
      expect(e).toBe(200);
      expect(connections).toBe(1);
      expect(dns.calls).toEqual(['stand-in.partner.example']);
      // Checked in the lookup, and the connected socket's address once more.
      expect(seen).toEqual(['127.0.0.1', '127.0.0.1']);
      expect(hosts[hosts.length - 1]).toBe(`stand-in.partner.example:${port}`);
    });

    it('an IP literal connects without a lookup', async () => {
      expect(await get(`http://127.0.0.1:${port}/`, never, onlyLoopbackV4)).toBe(200);
      expect(never.calls).toEqual([]);
      expect(connections).toBe(1);
    });

    it('still refuses the whole name when one of its addresses is refused', async () => {
      const e = await get(`http://two.partner.example:${port}/`, scripted(['127.0.0.1', '::1']), onlyLoopbackV4);
      expect(e).toMatchObject({ address: '::1', reason: 'not the stand-in' });
      expect(connections).toBe(0);
    });
  });

  it('a resolver failure is a connection error, not a refusal', async () => {
    const down: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' });
    };
    const e = await get(`http://nowhere.example:${port}/`, down);
    expect(e).not.toBeInstanceOf(CallbackTargetRefused);
    expect((e as { code?: string }).code).toBe('ENOTFOUND');
  });
});
