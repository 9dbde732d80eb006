// Partners' SMPP bind passwords set in the portal: an operator generates one, sets a chosen one
// (the CLI's rule: 1-8 printable ASCII characters, no space) or disables SMPP; a partner user
// generates a new one for its own partner only, with its portal password again, and only while
// SMPP is enabled. Real PostgreSQL and Redis, the built portal, and a running SMPP server that
// takes the new password and refuses the old one once the change is announced.
import Redis from 'ioredis';
import { Startup } from '@smsgw/common';
import { partnerChangedChannel } from '@smsgw/contracts';
import { hashApiPassword, smppPasswordProblem } from '@smsgw/db';
import { startSmppServer, type RunningSmppServer } from '@smsgw/smpp-server/dist/bootstrap';
import { loadSmppServerConfig } from '@smsgw/smpp-server/dist/config';
import { Client, createPartner, createTestEnv, createUser, loggedIn, PEPPER, type Portal, REDIS_URL, sleep, startPortal, type TestEnv } from './harness';

// The `smpp` npm package as the partner's client.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const smpp = require('smpp') as { connect(o: { url: string }): SmppClient };
interface SmppClient {
  on(event: string, listener: (...args: unknown[]) => void): void;
  bind_transceiver(o: Record<string, unknown>, cb: (pdu: { command_status: number }) => void): void;
  close(): void;
}

jest.setTimeout(60_000);

let t: TestEnv;
let portal: Portal;
let server: RunningSmppServer;
let sub: Redis;
const published: string[] = [];
let shop: { id: number; login: string };
let other: { id: number; login: string };
let quiet: { id: number; login: string };
let operator: Client;
let shopUser: Client;
let quietUser: Client;
/** Every password and hash seen, to look for in the portal's output at the end. */
const secrets: string[] = [];

const hashOf = async (id: number) => (await t.prisma.partner.findUniqueOrThrow({ where: { id } })).smppPasswordHash;
const lastAudit = (id: number) => t.prisma.auditLog.findFirst({ where: { entity: `partner:${id}` }, orderBy: { id: 'desc' } });

async function announced(id: number): Promise<void> {
  for (let i = 0; i < 100 && !published.includes(String(id)); i++) await sleep(20);
  expect(published).toContain(String(id));
}

/** A bind_transceiver's command_status (0: bound), the session closed afterwards. */
function bindStatus(login: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = smpp.connect({ url: `smpp://127.0.0.1:${server.smppPort}` });
    c.on('error', (e) => reject(e as Error));
    c.bind_transceiver({ system_id: login, password }, (pdu) => {
      c.close();
      resolve(pdu.command_status);
    });
  });
}

/** The SMPP server takes `password` within 2 s (it reloads the partner when the change is announced). */
async function bindsWithin(login: string, password: string): Promise<number> {
  let status = -1;
  for (const until = Date.now() + 2000; Date.now() < until; await sleep(100)) {
    status = await bindStatus(login, password);
    if (status === 0) break;
  }
  return status;
}

beforeAll(async () => {
  t = await createTestEnv();
  shop = await createPartner(t, 'shop');
  other = await createPartner(t, 'other', { smppPasswordHash: hashApiPassword('oth3r!', PEPPER) });
  quiet = await createPartner(t, 'quiet');
  await createUser(t, 'op', 'op-password-1', 'operator');
  await createUser(t, 'shop-user', 'shop-password', 'partner', shop.id);
  await createUser(t, 'quiet-user', 'quiet-password', 'partner', quiet.id);
  sub = new Redis(REDIS_URL);
  sub.on('message', (_ch: string, m: string) => published.push(m));
  await sub.subscribe(partnerChangedChannel(t.prefix));
  server = await startSmppServer(
    loadSmppServerConfig({
      DATABASE_URL: t.db.url,
      REDIS_URL,
      REDIS_PREFIX: t.prefix,
      LOG_LEVEL: 'silent',
      API_PASSWORD_PEPPER: PEPPER,
      SMPP_SERVER_PORT: '0',
      SMPP_SERVER_HOST: '127.0.0.1',
      SMPP_SERVER_HTTP_PORT: '0',
      SMPP_SERVER_HTTP_HOST: '127.0.0.1',
      // The tests try old passwords on purpose: no lockout.
      SMPP_BIND_MAX_FAILURES: '1000',
      SMPP_BIND_IP_MAX_FAILURES: '100000',
    }),
  );
  await server.app.get(Startup).started();
  // Logs at info level, so that anything the portal logged about these requests would show.
  portal = await startPortal(t, { LOG_LEVEL: 'info' });
  operator = await loggedIn(portal.url, 'op', 'op-password-1');
  shopUser = await loggedIn(portal.url, 'shop-user', 'shop-password');
  quietUser = await loggedIn(portal.url, 'quiet-user', 'quiet-password');
});

afterAll(async () => {
  await portal?.close();
  await server?.close();
  await sub?.quit();
  await t?.close();
});

describe('operator', () => {
  let generated = '';

  it('generates a password: 8 characters, answered once with no-store, stored as the HMAC the CLI stores, audited and announced', async () => {
    expect(await hashOf(shop.id)).toBeNull();
    published.length = 0;
    const r = await operator.post(`/api/operator/partners/${shop.id}/smpp-password`, {});
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['password', 'smppEnabled']);
    expect(r.body.smppEnabled).toBe(true);
    generated = r.body.password;
    secrets.push(generated);
    expect(generated).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(smppPasswordProblem(generated)).toBeNull();
    expect(r.headers.get('cache-control')).toBe('no-store');
    const hash = await hashOf(shop.id);
    secrets.push(hash!);
    expect(hash).toBe(hashApiPassword(generated, PEPPER));
    const audit = await lastAudit(shop.id);
    expect(audit).toMatchObject({ actor: 'portal:op', action: 'partner.set-smpp-password', before: null, after: null });
    await announced(shop.id);
    // What the console reads back says SMPP is on, without the hash.
    const details = await operator.get(`/api/operator/partners/${shop.id}`);
    expect(details.body.smppEnabled).toBe(true);
    expect(JSON.stringify(details.body)).not.toContain(hash);
    expect(JSON.stringify(details.body)).not.toMatch(/smppPasswordHash/);
  });

  it('the running SMPP server binds with it', async () => {
    expect(await bindsWithin('shop', generated)).toBe(0);
  });

  it.each([
    ['9 characters', 'abcdefghi', /has 9 characters: SMPP 3\.4 allows at most 8/],
    ['a space', 'ab cd', /printable ASCII characters, without spaces/],
    ['a non-ASCII letter', 'pässw0rd', /printable ASCII characters, without spaces/],
    ['nothing', '', /empty/],
  ])('refuses a chosen password with %s: 400 with the reason at the field, nothing changed', async (_what, password, message) => {
    const before = await hashOf(shop.id);
    const auditBefore = (await lastAudit(shop.id))!.id;
    const r = await operator.post(`/api/operator/partners/${shop.id}/smpp-password`, { password });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(message);
    expect(r.body.message).toBe(smppPasswordProblem(password));
    expect(r.body.field).toBe('password');
    expect(await hashOf(shop.id)).toBe(before);
    expect((await lastAudit(shop.id))!.id).toBe(auditBefore);
  });

  it('refuses a misspelt body rather than taking it for "generate"', async () => {
    const before = await hashOf(shop.id);
    const r = await operator.post(`/api/operator/partners/${shop.id}/smpp-password`, { pass: 'abc' });
    expect(r.status).toBe(400);
    expect(await hashOf(shop.id)).toBe(before);
    expect((await operator.post(`/api/operator/partners/${shop.id}/smpp-password`, { password: 12345678 })).status).toBe(400);
  });

  it('sets a chosen password without answering it; the old one is refused, the new one binds', async () => {
    const chosen = 'Ab3$x~!z';
    secrets.push(chosen);
    const r = await operator.post(`/api/operator/partners/${shop.id}/smpp-password`, { password: chosen });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ smppEnabled: true });
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(await hashOf(shop.id)).toBe(hashApiPassword(chosen, PEPPER));
    expect(await lastAudit(shop.id)).toMatchObject({ actor: 'portal:op', action: 'partner.set-smpp-password' });
    expect(await bindsWithin('shop', chosen)).toBe(0);
    expect(await bindStatus('shop', generated)).not.toBe(0);
  });

  it('disables SMPP: the hash is cleared, audited and announced; binds are refused; a second time changes nothing', async () => {
    published.length = 0;
    const r = await operator.post(`/api/operator/partners/${shop.id}/smpp-password/disable`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ smppEnabled: false, changed: true });
    expect(await hashOf(shop.id)).toBeNull();
    const audit = await lastAudit(shop.id);
    expect(audit).toMatchObject({ actor: 'portal:op', action: 'partner.disable-smpp' });
    await announced(shop.id);
    expect((await operator.get(`/api/operator/partners/${shop.id}`)).body.smppEnabled).toBe(false);
    let status = 0;
    for (const until = Date.now() + 2000; Date.now() < until && status === 0; await sleep(100)) status = await bindStatus('shop', 'Ab3$x~!z');
    expect(status).not.toBe(0);
    const again = await operator.post(`/api/operator/partners/${shop.id}/smpp-password/disable`);
    expect(again.body).toEqual({ smppEnabled: false, changed: false });
    expect((await lastAudit(shop.id))!.id).toBe(audit!.id);
  });

  it('an unknown partner is 404', async () => {
    expect((await operator.post('/api/operator/partners/999999/smpp-password', {})).status).toBe(404);
    expect((await operator.post('/api/operator/partners/999999/smpp-password/disable')).status).toBe(404);
  });

  it("cannot use the partner's own route (operators set it on the partner's page)", async () => {
    expect((await operator.post('/api/account/smpp-password', { currentPassword: 'op-password-1' })).status).toBe(403);
  });

  it('without the CSRF header nothing changes', async () => {
    const before = await hashOf(other.id);
    expect((await operator.post(`/api/operator/partners/${other.id}/smpp-password`, {}, { csrf: null })).status).toBe(403);
    expect((await operator.post(`/api/operator/partners/${other.id}/smpp-password/disable`, {}, { csrf: null })).status).toBe(403);
    expect(await hashOf(other.id)).toBe(before);
  });
});

describe('partner user', () => {
  beforeAll(async () => {
    // The operator enables SMPP for shop again.
    const r = await operator.post(`/api/operator/partners/${shop.id}/smpp-password`, {});
    secrets.push(r.body.password);
  });

  it('sees whether SMPP is enabled in its settings, never the hash', async () => {
    const s = await shopUser.get('/api/account/settings');
    expect(s.body.smppEnabled).toBe(true);
    expect(JSON.stringify(s.body)).not.toContain((await hashOf(shop.id))!);
    expect((await quietUser.get('/api/account/settings')).body.smppEnabled).toBe(false);
  });

  it('needs its portal password again', async () => {
    const before = await hashOf(shop.id);
    const missing = await shopUser.post('/api/account/smpp-password', {});
    expect(missing.status).toBe(400);
    expect(missing.body.field).toBe('currentPassword');
    const wrong = await shopUser.post('/api/account/smpp-password', { currentPassword: 'not-my-password' });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ message: 'the current password is wrong', field: 'currentPassword' });
    expect(await hashOf(shop.id)).toBe(before);
  });

  it("generates its own: answered once with no-store, stored as the HMAC, audited as the user's", async () => {
    published.length = 0;
    const otherBefore = await hashOf(other.id);
    // An id in the body is no way to another partner: the session's partner is the one changed.
    const r = await shopUser.post('/api/account/smpp-password', { currentPassword: 'shop-password', partnerId: other.id });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['login', 'password']);
    expect(r.body.login).toBe('shop');
    expect(r.body.password).toMatch(/^[A-Za-z0-9]{8}$/);
    secrets.push(r.body.password);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(await hashOf(shop.id)).toBe(hashApiPassword(r.body.password, PEPPER));
    expect(await hashOf(other.id)).toBe(otherBefore);
    expect(await lastAudit(shop.id)).toMatchObject({ actor: 'portal:shop-user', action: 'partner.set-smpp-password', before: null, after: null });
    await announced(shop.id);
    expect(await bindsWithin('shop', r.body.password)).toBe(0);
  });

  it('cannot enable SMPP: with SMPP disabled it gets 403 and the hash stays empty', async () => {
    const r = await quietUser.post('/api/account/smpp-password', { currentPassword: 'quiet-password' });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/SMPP is disabled for your account: only your operator can enable it/);
    expect(await hashOf(quiet.id)).toBeNull();
    expect(await lastAudit(quiet.id)).toBeNull();
  });

  it('cannot reach the operator routes, for its own partner or another: 403, nothing changed', async () => {
    const before = { shop: await hashOf(shop.id), other: await hashOf(other.id), quiet: await hashOf(quiet.id) };
    for (const id of [shop.id, other.id, quiet.id]) {
      expect((await shopUser.post(`/api/operator/partners/${id}/smpp-password`, {})).status).toBe(403);
      expect((await shopUser.post(`/api/operator/partners/${id}/smpp-password`, { password: 'abc123' })).status).toBe(403);
      expect((await shopUser.post(`/api/operator/partners/${id}/smpp-password/disable`)).status).toBe(403);
      expect((await quietUser.post(`/api/operator/partners/${id}/smpp-password`, {})).status).toBe(403);
    }
    expect({ shop: await hashOf(shop.id), other: await hashOf(other.id), quiet: await hashOf(quiet.id) }).toEqual(before);
  });

  it('without a session: 401', async () => {
    expect((await new Client(portal.url).post('/api/account/smpp-password', { currentPassword: 'x' })).status).toBe(401);
    expect((await new Client(portal.url).post(`/api/operator/partners/${shop.id}/smpp-password`, {})).status).toBe(401);
  });
});

it('no password or hash ever reaches the portal log or the audit log', async () => {
  const log = portal.output.join('');
  // The portal logged these requests (info level), so the check looks at something.
  expect(log).toMatch(/smpp-password/);
  const audit = JSON.stringify(await t.prisma.auditLog.findMany(), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
  expect(audit).toMatch(/partner\.set-smpp-password/);
  for (const s of secrets) {
    expect(log).not.toContain(s);
    expect(audit).not.toContain(s);
  }
  // The hashes of every password given out.
  for (const s of secrets) {
    const h = hashApiPassword(s, PEPPER);
    expect(log).not.toContain(h);
    expect(audit).not.toContain(h);
  }
});
