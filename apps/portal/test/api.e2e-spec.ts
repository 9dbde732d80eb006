// The portal's JSON API against a real PostgreSQL and Redis: who may see and change what (every
// role boundary), CSRF, login lockout, sessions, and the data pages (dashboard totals equal to
// the message table, search, timeline, CSV, MO, callbacks, settings) and operator changes
// (validated like the CLI, audited, announced).
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { partnerChangedChannel } from '@smsgw/contracts';
import { hashApiPassword, ID_HOUR_FACTOR, messageIdFloor } from '@smsgw/db';
import { MessagesService } from '../src/messages/messages.service';
import { Client, createPartner, createTestEnv, createUser, loggedIn, PEPPER, type Portal, REDIS_URL, sleep, startPortal, type TestEnv } from './harness';

jest.setTimeout(60_000);

let t: TestEnv;
let portal: Portal;
let a: { id: number; login: string; password: string };
let b: { id: number; login: string; password: string };
let operator: Client;
let userA: Client;
let userB: Client;
let sub: Redis;
const published: string[] = [];

/** JSON of rows with bigint ids, to look for strings that must not be anywhere in them. */
const json = (x: unknown) => JSON.stringify(x, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

/** The stored id of message number `n` (`base+i` of insertMessages). */
const ids = new Map<number, string>();
const idOf = (n: number): string => ids.get(n) ?? String(n);

/**
 * Messages number `base+i`, spread over the last days; statuses cycle through 2, 5, 0, 1, 8. Their
 * ids carry the hour of their created_at as the intake's do (MessageIdAllocator), and their
 * partnerMsgIds (`p-<number>`) are claimed in message_key as the intake claims them.
 */
async function insertMessages(partnerId: number, base: number, n: number, opts: { test?: boolean; sender?: string; msisdn?: string; hoursApart?: number } = {}): Promise<void> {
  const { rows } = await t.pool.query<{ id: string; n: number }>(
    `WITH r AS (
       SELECT g, now() - make_interval(hours => g * $6::int) AS created_at FROM generate_series(0, $7::int - 1) g
     ), m AS (
       INSERT INTO message (id, partner_id, sender, msisdn, text, encoding, segments, status, ext_status, valid_until, created_at, test, partner_msg_id)
       SELECT floor(extract(epoch FROM created_at) / 3600)::bigint * ${ID_HOUR_FACTOR} + $2::bigint + g, $1, $3, coalesce($4, '7903' || lpad(g::text, 7, '0')), 'text ' || g, 0, 1 + g % 2,
         (ARRAY[2,5,0,1,8])[1 + g % 5], CASE WHEN g % 5 = 1 THEN 8 END, now() + interval '1 day', created_at, $5, 'p-' || ($2::bigint + g)
       FROM r
       RETURNING id, partner_id, partner_msg_id
     ), k AS (
       INSERT INTO message_key (partner_id, partner_msg_id, message_id) SELECT partner_id, partner_msg_id, id FROM m
     )
     SELECT id::text AS id, substr(partner_msg_id, 3)::int AS n FROM m`,
    [partnerId, base, opts.sender ?? 'TEST', opts.msisdn ?? null, opts.test ?? false, opts.hoursApart ?? 5, n],
  );
  for (const r of rows) ids.set(r.n, r.id);
}

beforeAll(async () => {
  t = await createTestEnv();
  a = await createPartner(t, 'alpha', { timeZone: 'Europe/Moscow', senders: ['TEST', 'ALPHA'] });
  b = await createPartner(t, 'beta');
  await createUser(t, 'op', 'op-password-1', 'operator');
  await createUser(t, 'ua', 'ua-password-1', 'partner', a.id);
  await createUser(t, 'ub', 'ub-password-1', 'partner', b.id);
  await insertMessages(a.id, 10_000, 40);
  await insertMessages(a.id, 20_000, 6, { sender: 'ALPHA', test: true, msisdn: '79040000000' });
  await insertMessages(b.id, 30_000, 10, { msisdn: '79990000001' });
  sub = new Redis(REDIS_URL);
  sub.on('message', (_ch: string, m: string) => published.push(m));
  await sub.subscribe(partnerChangedChannel(t.prefix));
  // Callback targets as in production: internal addresses refused (no partner server runs here).
  portal = await startPortal(t, { PORTAL_LOGIN_MAX_FAILURES: '3', PORTAL_IP_MAX_FAILURES: '12', CALLBACK_ALLOW_PRIVATE_TARGETS: 'false' });
  operator = await loggedIn(portal.url, 'op', 'op-password-1');
  userA = await loggedIn(portal.url, 'ua', 'ua-password-1');
  userB = await loggedIn(portal.url, 'ub', 'ub-password-1');
});

afterAll(async () => {
  await portal?.close();
  await sub?.quit();
  await t?.close();
});

describe('without a session', () => {
  it.each([
    ['GET', '/api/auth/me'],
    ['GET', '/api/stats'],
    ['GET', '/api/messages'],
    ['GET', '/api/messages/10000'],
    ['GET', '/api/messages/export.csv'],
    ['GET', '/api/mo'],
    ['GET', '/api/callbacks'],
    ['GET', '/api/account/settings'],
    ['POST', '/api/account/api-password'],
    ['GET', '/api/operator/partners'],
    ['PATCH', '/api/operator/partners/1'],
    ['GET', '/api/operator/audit'],
  ])('%s %s is 401', async (method, path) => {
    const r = await new Client(portal.url).request(method, path, method === 'GET' ? undefined : {});
    expect(r.status).toBe(401);
  });

  it('a forged or expired session cookie is 401', async () => {
    const c = new Client(portal.url);
    c.cookies.set('smsgw_session', 'A'.repeat(43));
    expect((await c.get('/api/stats')).status).toBe(401);
  });

  it('Bull Board sends the browser to the login page, and tells its API 401', async () => {
    const r = await fetch(`${portal.url}/operator/queues/`, { headers: { accept: 'text/html,application/xhtml+xml' }, redirect: 'manual' });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toMatch(/^\/login\?next=/);
    expect((await new Client(portal.url).get('/operator/queues/api/queues')).status).toBe(401);
  });

  it('health and the web UI need none', async () => {
    expect((await new Client(portal.url).get('/health')).status).toBe(200);
  });
});

describe('a partner user sees only its own partner', () => {
  it("another partner's message is 404, even when asking with that partner's id", async () => {
    expect((await userA.get(`/api/messages/${idOf(30000)}`)).status).toBe(404);
    expect((await userA.get(`/api/messages/${idOf(30000)}?partnerId=${b.id}`)).status).toBe(404);
    expect((await userB.get(`/api/messages/${idOf(30000)}`)).status).toBe(200);
    expect((await userA.get(`/api/messages/${idOf(10000)}`)).status).toBe(200);
  });

  it('searches, exports, statistics, MO and settings are its own whatever partnerId says', async () => {
    const s = await userA.get(`/api/messages?partnerId=${b.id}&limit=500`);
    expect(s.status).toBe(200);
    expect(s.body.messages.length).toBe(46);
    expect(s.body.messages.every((m: { id: string }) => [...ids].some(([n, id]) => id === m.id && n < 30_000))).toBe(true);
    expect((await userA.get(`/api/messages?msisdn=79990000001&partnerId=${b.id}`)).body.messages).toEqual([]);
    const csv = await userA.get(`/api/messages/export.csv?partnerId=${b.id}`);
    expect(csv.body).not.toContain('79990000001');
    expect((await userA.get(`/api/stats?partnerId=${b.id}`)).body.partnerId).toBe(a.id);
    expect((await userA.get(`/api/account/settings?partnerId=${b.id}`)).body.login).toBe('alpha');
    const settings = await userA.get('/api/account/settings');
    expect(settings.body).not.toHaveProperty('apiPasswordHash');
  });

  it('rotating the API password with another partner id changes its own', async () => {
    const before = await t.prisma.partner.findUniqueOrThrow({ where: { id: b.id } });
    const r = await userA.post('/api/account/api-password', { partnerId: b.id, currentPassword: 'ua-password-1' });
    expect(r.status).toBe(200);
    expect(r.body.login).toBe('alpha');
    expect((await t.prisma.partner.findUniqueOrThrow({ where: { id: b.id } })).apiPasswordHash).toBe(before.apiPasswordHash);
    expect((await t.prisma.partner.findUniqueOrThrow({ where: { id: a.id } })).apiPasswordHash).toBe(hashApiPassword(r.body.password, PEPPER));
  });

  it.each([
    ['GET', '/api/operator/partners'],
    ['GET', '/api/operator/partners/1'],
    ['POST', '/api/operator/partners'],
    ['PATCH', '/api/operator/partners/1'],
    ['POST', '/api/operator/partners/1/block'],
    ['GET', '/api/operator/users'],
    ['POST', '/api/operator/users'],
    ['GET', '/api/operator/smsc'],
    ['GET', '/api/operator/smsc/live'],
    ['POST', '/api/operator/smsc'],
    ['GET', '/api/operator/queues'],
    ['GET', '/api/operator/audit'],
  ])('operator endpoint %s %s is 403', async (method, path) => {
    const r = await userA.request(method, path, method === 'GET' ? undefined : { rateLimit: 1 });
    expect(r.status).toBe(403);
  });

  it("rotating the API password needs the user's own password again", async () => {
    const before = (await t.prisma.partner.findUniqueOrThrow({ where: { id: a.id } })).apiPasswordHash;
    const missing = await userA.post('/api/account/api-password', {});
    expect(missing.status).toBe(400);
    const wrong = await userA.post('/api/account/api-password', { currentPassword: 'not-my-password' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.field).toBe('currentPassword');
    expect((await t.prisma.partner.findUniqueOrThrow({ where: { id: a.id } })).apiPasswordHash).toBe(before);
  });

  it('Bull Board is 403 for a partner user', async () => {
    expect((await userA.get('/operator/queues/')).status).toBe(403);
  });

  it('nothing of partner B changed through partner A', async () => {
    expect((await t.prisma.partner.findUniqueOrThrow({ where: { id: b.id } })).rateLimit).toBe(10_000);
  });
});

describe('CSRF', () => {
  it('a state-changing request without the X-CSRF-Token header is 403 and changes nothing', async () => {
    const r = await operator.patch(`/api/operator/partners/${b.id}`, { rateLimit: 7 }, { csrf: null });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/CSRF/);
    expect((await t.prisma.partner.findUniqueOrThrow({ where: { id: b.id } })).rateLimit).toBe(10_000);
  });

  it("a wrong token, or another session's token, is 403", async () => {
    expect((await operator.patch(`/api/operator/partners/${b.id}`, { rateLimit: 7 }, { csrf: 'x'.repeat(32) })).status).toBe(403);
    expect((await operator.patch(`/api/operator/partners/${b.id}`, { rateLimit: 7 }, { csrf: userA.csrf })).status).toBe(403);
    expect((await userA.post('/api/callbacks/resend', {}, { csrf: null })).status).toBe(403);
    expect((await userA.post('/api/auth/logout', {}, { csrf: null })).status).toBe(403);
  });

  it('login takes JSON only (a cross-site form cannot post it)', async () => {
    const c = new Client(portal.url);
    const r = await c.post('/api/auth/login', 'login=ua&password=ua-password-1', { contentType: 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(400);
    const text = await c.post('/api/auth/login', JSON.stringify({ login: 'ua', password: 'ua-password-1' }), { contentType: 'text/plain' });
    expect(text.status).toBe(400);
  });

  it('session cookie is HttpOnly and SameSite=Strict; the CSRF cookie is readable by the page', async () => {
    const res = await fetch(`${portal.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'ub', password: 'ub-password-1' }) });
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('smsgw_session='))!;
    const csrf = cookies.find((c) => c.startsWith('smsgw_csrf='))!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Strict/i);
    expect(csrf).not.toMatch(/HttpOnly/i);
    expect(csrf).toMatch(/SameSite=Strict/i);
  });
});

describe('operator', () => {
  it("edits a partner with the CLI's validation: a bad value is 400 naming the field, nothing stored", async () => {
    const r = await operator.patch(`/api/operator/partners/${b.id}`, { rateLimit: 7, statusUrl: 'ftp://x' });
    expect(r.status).toBe(400);
    expect(r.body.field).toBe('statusUrl');
    expect((await t.prisma.partner.findUniqueOrThrow({ where: { id: b.id } })).rateLimit).toBe(10_000);
    const bad = await operator.patch(`/api/operator/partners/${b.id}`, { requestParamNames: { nosuch: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('requestParamNames');
  });

  it('refuses callback URLs aimed inside the network (CALLBACK_ALLOW_PRIVATE_TARGETS off)', async () => {
    const metadata = await operator.patch(`/api/operator/partners/${b.id}`, { rateLimit: 7, statusUrl: 'http://169.254.169.254/latest' });
    expect(metadata.status).toBe(400);
    expect(metadata.body).toMatchObject({ field: 'statusUrl' });
    expect(metadata.body.message).toMatch(/status URL .* is refused: 169\.254\.169\.254 is a cloud metadata address/);
    const loopback = await operator.patch(`/api/operator/partners/${b.id}`, { moUrl: 'http://[::ffff:127.0.0.1]:8080/mo' });
    expect(loopback.status).toBe(400);
    expect(loopback.body).toMatchObject({ field: 'moUrl' });
    const created = await operator.post('/api/operator/partners', { login: 'gamma', settings: { statusUrl: 'http://localhost:9000/dlr' } });
    expect(created.status).toBe(400);
    expect(created.body).toMatchObject({ field: 'statusUrl' });
    const stored = await t.prisma.partner.findUniqueOrThrow({ where: { id: b.id } });
    expect(stored).toMatchObject({ rateLimit: 10_000, statusUrl: null, moUrl: null });
    expect(await t.prisma.partner.findUnique({ where: { login: 'gamma' } })).toBeNull();
  });

  it('a change is stored, audited with before and after, and announced', async () => {
    published.length = 0;
    // A public address literal: a name would have to resolve (the policy is on here), and tests have no DNS.
    const r = await operator.patch(`/api/operator/partners/${b.id}`, { rateLimit: '25', requestParamNames: 'clientId=to', statusUrl: 'https://93.184.216.34/dlr', testMode: true });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rateLimit: 25, requestParamNames: { clientId: 'to' }, statusUrl: 'https://93.184.216.34/dlr', testMode: true });
    expect(r.body).not.toHaveProperty('apiPasswordHash');
    const audit = await t.prisma.auditLog.findFirstOrThrow({ where: { entity: `partner:${b.id}` }, orderBy: { id: 'desc' } });
    expect(audit).toMatchObject({ actor: 'portal:op', action: 'partner.update' });
    expect(audit.before).toMatchObject({ rateLimit: 10_000, statusUrl: null });
    expect(audit.after).toMatchObject({ rateLimit: 25, statusUrl: 'https://93.184.216.34/dlr' });
    expect(json(audit)).not.toContain('apiPasswordHash');
    for (let i = 0; i < 50 && !published.includes(String(b.id)); i++) await sleep(20);
    expect(published).toContain(String(b.id));
    const log = await operator.get(`/api/operator/audit?entity=partner:${b.id}`);
    expect(log.body.entries[0]).toMatchObject({ actor: 'portal:op', action: 'partner.update' });
  });

  it('creates a partner (password shown once, stored hashed), blocks and unblocks it', async () => {
    const r = await operator.post('/api/operator/partners', { login: 'gamma', settings: { senders: 'GAMMA', defaultSender: 'GAMMA', allowedIps: ['10.0.0.0/8'] } });
    expect(r.status).toBe(201);
    const stored = await t.prisma.partner.findUniqueOrThrow({ where: { login: 'gamma' } });
    expect(stored.apiPasswordHash).toBe(hashApiPassword(r.body.password, PEPPER));
    expect(stored.allowedIps).toEqual(['10.0.0.0/8']);
    expect((await operator.post('/api/operator/partners', { login: 'gamma' })).status).toBe(409);
    expect((await operator.post(`/api/operator/partners/${stored.id}/block`)).body.status).toBe('blocked');
    expect((await operator.post(`/api/operator/partners/${stored.id}/unblock`)).body.status).toBe('active');
    const sn = await operator.post(`/api/operator/partners/${stored.id}/service-numbers`, { action: 'add', number: '7777' });
    expect(sn.status).toBe(200);
    expect((await operator.get(`/api/operator/partners/${stored.id}`)).body.serviceNumbers).toEqual(['7777']);
  });

  it('manages users: a partner user needs a partner, passwords are generated and shown once', async () => {
    expect((await operator.post('/api/operator/users', { login: 'nobody', role: 'partner' })).status).toBe(400);
    const r = await operator.post('/api/operator/users', { login: 'ub2', role: 'partner', partnerId: b.id });
    expect(r.status).toBe(201);
    const c = await loggedIn(portal.url, 'ub2', r.body.password);
    expect((await c.get('/api/auth/me')).body).toMatchObject({ role: 'partner', partnerId: b.id });
    const reset = await operator.patch(`/api/operator/users/${r.body.user.id}`, { resetPassword: true });
    expect((await c.get('/api/auth/me')).status).toBe(401); // sessions end with the reset
    await loggedIn(portal.url, 'ub2', reset.body.password);
    expect((await operator.delete(`/api/operator/users/${r.body.user.id}`)).status).toBe(200);
  });

  it('manages SMSC connections with the CLI validation; the password is never shown', async () => {
    const bad = await operator.post('/api/operator/smsc', { name: 'mts', host: 'smsc.example.net', port: '99999', systemId: 'gw', password: 'pw' });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('port');
    const r = await operator.post('/api/operator/smsc', { name: 'mts', host: 'smsc.example.net', port: '2775', systemId: 'gw', password: 's3cret', routes: '7903,7905' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'mts', password: '(set)', routes: ['7903', '7905'] });
    const list = await operator.get('/api/operator/smsc');
    expect(JSON.stringify(list.body)).not.toContain('s3cret');
    expect((await operator.patch(`/api/operator/smsc/${r.body.id}`, { tps: '300' })).body.tps).toBe(300);
    expect((await operator.post(`/api/operator/smsc/${r.body.id}/disable`)).body.changed).toBe(true);
    const live = await operator.get('/api/operator/smsc/live');
    expect(live.body.unreachable).toEqual(['http://127.0.0.1:1']);
    expect((await operator.delete(`/api/operator/smsc/${r.body.id}`)).status).toBe(200);
    const audit = await t.prisma.auditLog.findMany({ where: { entity: `smsc:${r.body.id}` } });
    expect(audit.map((x) => x.action)).toEqual(['smsc.create', 'smsc.update', 'smsc.disable', 'smsc.delete']);
    expect(json(audit)).not.toContain('s3cret');
  });

  it('sees queue depths and Bull Board', async () => {
    const q = await operator.get('/api/operator/queues');
    expect(q.body.queues.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['mt.dispatch', 'callback.dlr', 'callback.mo']));
    const board = await operator.get('/operator/queues/');
    expect(board.status).toBe(200);
    expect((await operator.get('/operator/queues/api/queues')).status).toBe(200);
    expect(String(board.body)).toContain('<html');
  });

  it("reads any partner's data by naming it", async () => {
    expect((await operator.get(`/api/messages/${idOf(30000)}`)).status).toBe(400); // which partner?
    expect((await operator.get(`/api/messages/${idOf(30000)}?partnerId=${b.id}`)).status).toBe(200);
    expect((await operator.get(`/api/messages/${idOf(30000)}?partnerId=${a.id}`)).status).toBe(404);
  });
});

describe('partner pages', () => {
  /** The message table itself, by local day in the partner's zone, live and test apart. */
  async function fromMessageTable(partnerId: number, zone: string) {
    const { rows } = await t.pool.query<{ day: string; test: boolean; status: number; n: number; seg: number }>(
      `SELECT to_char(created_at AT TIME ZONE $2, 'YYYY-MM-DD') AS day, test, status, count(*)::int AS n, sum(segments)::int AS seg
       FROM message WHERE partner_id = $1 GROUP BY 1, 2, 3`,
      [partnerId, zone],
    );
    return rows;
  }

  async function expectDashboardMatches(): Promise<void> {
    const r = await userA.get('/api/stats?from=2000-01-01&to=2100-01-01'.replace('2000-01-01', new Date(Date.now() - 30 * 864e5).toISOString().slice(0, 10)).replace('2100-01-01', new Date(Date.now() + 864e5).toISOString().slice(0, 10)));
    expect(r.status).toBe(200);
    const rows = await fromMessageTable(a.id, 'Europe/Moscow');
    for (const test of [false, true]) {
      const days = test ? r.body.test.days : r.body.days;
      const want = new Map<string, { messages: number; segments: number; byStatus: Record<string, number> }>();
      for (const x of rows.filter((x) => x.test === test)) {
        const d = want.get(x.day) ?? { messages: 0, segments: 0, byStatus: {} };
        d.messages += x.n;
        d.segments += x.seg;
        d.byStatus[String(x.status)] = (d.byStatus[String(x.status)] ?? 0) + x.n;
        want.set(x.day, d);
      }
      for (const d of days as { day: string; messages: number; segments: number; byStatus: Record<string, number> }[]) {
        const w = want.get(d.day) ?? { messages: 0, segments: 0, byStatus: {} };
        expect({ day: d.day, messages: d.messages, segments: d.segments }).toEqual({ day: d.day, messages: w.messages, segments: w.segments });
        for (const s of ['0', '1', '2', '5', '8']) expect([d.day, s, d.byStatus[s]]).toEqual([d.day, s, w.byStatus[s] ?? 0]);
      }
      const total = rows.filter((x) => x.test === test).reduce((n, x) => n + x.n, 0);
      expect((test ? r.body.test.totals : r.body.totals).messages).toBe(total);
    }
    const live = rows.filter((x) => !x.test);
    const delivered = live.filter((x) => x.status === 2).reduce((n, x) => n + x.n, 0);
    const undelivered = live.filter((x) => x.status === 5).reduce((n, x) => n + x.n, 0);
    expect(r.body.totals.deliveryRate).toBeCloseTo(delivered / (delivered + undelivered), 10);
  }

  it('dashboard totals equal the message table: before the rollup folds the changes, after, and after status changes', async () => {
    await expectDashboardMatches(); // only the change log so far
    const { StatsRollup } = await import('@smsgw/scheduler/dist/stats/stats-rollup.service');
    const rollup = new StatsRollup(t.pool, { SCHEDULER_ROLLUP_INTERVAL_MS: 1000, SCHEDULER_ROLLUP_BATCH: 1000, SCHEDULER_REPORT_GRACE_MS: 60_000, SCHEDULER_TASKS: [] } as never, { now: () => new Date() } as never);
    await rollup.foldAll(new Date());
    const { rows } = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM message_stat_delta');
    expect(rows[0]!.n).toBe(0);
    await expectDashboardMatches(); // only message_stat
    await t.pool.query(`UPDATE message SET status = 2, done_at = now() WHERE partner_id = $1 AND status IN (0, 1)`, [a.id]);
    await t.pool.query(`UPDATE message SET status = 5, ext_status = 1 WHERE partner_id = $1 AND id % 7 = 0 AND status = 2`, [a.id]);
    await expectDashboardMatches(); // message_stat + pending changes
    await rollup.foldAll(new Date());
    await expectDashboardMatches();
  });

  it('dashboard splits by sender, keeps test traffic apart, and refuses a bad period', async () => {
    // Days in the partner's zone: between 21:00 and 24:00 UTC Moscow is a day ahead already.
    const moscowDay = (at: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Moscow' }).format(new Date(at));
    const today = moscowDay(Date.now());
    const r = await userA.get(`/api/stats?from=${moscowDay(Date.now() - 20 * 864e5)}&to=${today}`);
    expect(r.body.bySender.map((s: { sender: string }) => s.sender)).toEqual(['TEST']); // ALPHA's messages are all test
    expect(r.body.test.totals.messages).toBe(6);
    expect((await userA.get('/api/stats?from=2026-13-01')).status).toBe(400);
    expect((await userA.get('/api/stats?from=2026-02-01&to=2026-01-01')).status).toBe(400);
  });

  it('search filters by id, partnerMsgId, number, sender, status and period, with keyset pages', async () => {
    expect((await userA.get(`/api/messages?id=${idOf(10003)}`)).body.messages.map((m: { id: string }) => m.id)).toEqual([idOf(10003)]);
    expect((await userA.get('/api/messages?partnerMsgId=p-10004')).body.messages.map((m: { id: string }) => m.id)).toEqual([idOf(10004)]);
    expect((await userA.get('/api/messages?partnerMsgId=p-30004')).body.messages).toEqual([]); // partner B's
    expect((await userA.get('/api/messages?msisdn=%2B7 903 000-00-05')).body.messages.map((m: { id: string }) => m.id)).toEqual([idOf(10005)]);
    expect((await userA.get('/api/messages?sender=ALPHA&limit=100')).body.messages).toHaveLength(6);
    const delivered = await userA.get('/api/messages?status=2&limit=500');
    expect(delivered.body.messages.every((m: { status: number }) => m.status === 2)).toBe(true);
    const day = new Date(Date.now() - 24 * 3600e3).toISOString();
    const period = await userA.get(`/api/messages?from=${encodeURIComponent(day)}&limit=500`);
    expect(period.body.messages.every((m: { createdAt: string }) => m.createdAt >= day)).toBe(true);
    // pages: newest first, no row twice, none missing
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const p: { body: { messages: { id: string }[]; next: string | null } } = await userA.get(`/api/messages?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...p.body.messages.map((m) => m.id));
      cursor = p.body.next;
    }
    expect(seen).toHaveLength(46);
    expect(new Set(seen).size).toBe(46);
    // Filters without an index of their own (sender, status, test) read only the hours the
    // statistics say hold matches: every page still has every match, in order.
    for (const q of ['status=2', 'status=5&sender=TEST', 'sender=ALPHA', 'test=true', 'status=8&sender=ALPHA']) {
      const got: string[] = [];
      let next: string | null = '';
      while (next !== null) {
        const p: { body: { messages: { id: string }[]; next: string | null } } = await userA.get(`/api/messages?${q}&limit=3${next ? `&cursor=${next}` : ''}`);
        got.push(...p.body.messages.map((m) => m.id));
        next = p.body.next;
      }
      const params = new URLSearchParams(q);
      const { rows } = await t.pool.query<{ id: string }>(
        `SELECT id::text AS id FROM message WHERE partner_id = $1 AND ($2::int IS NULL OR status = $2) AND ($3::text IS NULL OR sender = $3) AND ($4::bool IS NULL OR test = $4)
         ORDER BY created_at DESC, id DESC`,
        [a.id, params.get('status'), params.get('sender'), params.get('test')],
      );
      expect([q, got]).toEqual([q, rows.map((r) => r.id)]);
    }
    expect((await userA.get('/api/messages?id=abc')).status).toBe(400);
    expect((await userA.get('/api/messages?cursor=bm9wZQ')).status).toBe(400);
  });

  it('a period reads only its partitions: rows of two weeks, and of before the partitioning while the period can hold them', async () => {
    const c = await createPartner(t, 'partitioned');
    const DAY = 86_400_000;
    const today = Math.floor(Date.now() / DAY);
    const week = (today - (today % 7)) * DAY; // this week's partition starts here (weeks from 1970-01-01, as the migration counts)
    const next = week + 7 * DAY;
    const at = {
      legacy: Date.now() - 60_000, // an id of before the partitioning: message_before
      thisWeek: Date.now(),
      nextWeek: next + 2 * 3600_000,
      nextWeekLate: next + 5 * DAY,
      weekAfter: next + 7 * DAY + 2 * 3600_000,
    };
    const idOfRow: Record<keyof typeof at, string> = {
      legacy: '777',
      thisWeek: String(BigInt(messageIdFloor(at.thisWeek)) + 1n),
      nextWeek: String(BigInt(messageIdFloor(at.nextWeek)) + 1n),
      nextWeekLate: String(BigInt(messageIdFloor(at.nextWeekLate)) + 1n),
      weekAfter: String(BigInt(messageIdFloor(at.weekAfter)) + 1n),
    };
    for (const k of Object.keys(at) as (keyof typeof at)[]) {
      await t.pool.query(
        `INSERT INTO message (id, partner_id, sender, msisdn, text, encoding, segments, valid_until, created_at)
         VALUES ($1, $2, 'TEST', '79030000777', $3, 0, 1, now() + interval '30 days', $4)`,
        [idOfRow[k], c.id, k, new Date(at[k])],
      );
    }
    const partition = (ms: number) => `message_p${new Date(ms - (ms % (7 * DAY))).toISOString().slice(0, 10).replace(/-/g, '')}`;
    const search = async (from: number, to: number) =>
      (await operator.get(`/api/messages?partnerId=${c.id}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`)).body.messages.map((m: { text: string }) => m.text);
    // The partitions a search's statement reads (EXPLAIN ANALYZE: the others are pruned or never executed).
    const read = async (from: number, to: number) => {
      const statements: { text: string; values: unknown[] }[] = [];
      const service = new MessagesService({ query: (text: string, values: unknown[]) => (statements.push({ text, values }), t.pool.query(text, values)) } as never);
      await service.search({ partnerId: c.id, from: new Date(from), to: new Date(to) }, 50);
      const last = statements[statements.length - 1]!;
      const plan = (await t.pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${last.text}`, last.values)).rows[0]['QUERY PLAN'];
      const names = new Set<string>();
      const walk = (n: { 'Relation Name'?: string; 'Actual Loops'?: number; Plans?: unknown[] }) => {
        if (n['Relation Name'] && (n['Actual Loops'] ?? 0) > 0) names.add(n['Relation Name']);
        for (const child of n.Plans ?? []) walk(child as typeof n);
      };
      walk(plan[0].Plan);
      return [...names].sort();
    };

    // Starting before the partitioning's week ended: rows of before it may match, so no lower id bound.
    expect(await search(Date.now() - 3600_000, next + 3 * 3600_000)).toEqual(['nextWeek', 'thisWeek', 'legacy']);
    expect(await read(Date.now() - 3600_000, next + 3 * 3600_000)).toEqual(['message_before', partition(week), partition(next)].sort());
    // Starting after it: only the period's partitions.
    expect(await search(next + 3600_000, next + 7 * DAY + 3 * 3600_000)).toEqual(['weekAfter', 'nextWeekLate', 'nextWeek']);
    expect(await read(next + 3600_000, next + 7 * DAY + 3 * 3600_000)).toEqual([partition(next), partition(next + 7 * DAY)].sort());
    // The bounds are the period's: a row just outside either end is not shown.
    expect(await search(next + 3 * 3600_000, next + 7 * DAY + 2 * 3600_000)).toEqual(['nextWeekLate']);
  });

  it('CSV export streams every match with a header', async () => {
    const r = await userA.get('/api/messages/export.csv?sender=TEST');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = String(r.body).trim().split('\r\n');
    expect(lines[0]).toMatch(/^\ufeff?id,partnerMsgId,ptag,createdAt,sender,msisdn,status/);
    expect(lines).toHaveLength(41);
  });

  it('timeline: accepted, submitted, each segment, the receipt and every callback attempt with its HTTP result', async () => {
    const id = idOf(10001);
    await t.pool.query(`UPDATE message SET status = 2, ext_status = NULL, segments = 2, submitted_at = created_at + interval '1 s', done_at = created_at + interval '5 s' WHERE id = $1`, [id]);
    await t.pool.query(
      `INSERT INTO message_part (message_id, seq, smsc_message_id, status, submitted_at, done_at)
       SELECT id, s, 'smsc-' || s, 2, created_at + interval '1 s', created_at + interval '4 s' FROM message, generate_series(1, 2) s WHERE id = $1`,
      [id],
    );
    await t.pool.query(
      `INSERT INTO callback_attempt (kind, partner_id, message_id, status, attempt, attempted_at, url, http_status, error, duration_ms)
       SELECT 'dlr'::callback_kind, partner_id, id, 2, 1, created_at + interval '6 s', 'https://alpha.example/dlr?transactionId=' || id, 503, NULL, 40 FROM message WHERE id = $1
       UNION ALL
       SELECT 'dlr'::callback_kind, partner_id, id, 2, 2, created_at + interval '20 s', 'https://alpha.example/dlr?transactionId=' || id, 200, NULL, 35 FROM message WHERE id = $1`,
      [id],
    );
    const r = await userA.get(`/api/messages/${id}`);
    expect(r.status).toBe(200);
    expect(r.body.events.map((e: { kind: string }) => e.kind)).toEqual(['accepted', 'submitted', 'segment', 'segment', 'segment-receipt', 'segment-receipt', 'final', 'callback', 'callback']);
    expect(r.body.events.filter((e: { kind: string }) => e.kind === 'callback').map((e: { title: string }) => e.title)).toEqual([
      'Report (status 2) attempt 1: HTTP 503',
      'Report (status 2) attempt 2: HTTP 200',
    ]);
    expect(r.body.parts).toHaveLength(2);
    // B's user cannot see it, nor its attempts
    expect((await userB.get(`/api/messages/${id}`)).status).toBe(404);
  });

  it("timeline and callbacks: network-level failures are one neutral text, untimed, for the partner; the operator sees the worker's", async () => {
    const id = idOf(10002);
    const errors = ['connection refused', 'connect timeout', 'timeout after 10000 ms', 'host not found', 'ECALLBACK_TARGET_REFUSED: 127.0.0.1 is loopback (CALLBACK_ALLOW_PRIVATE_TARGETS is off)'];
    await t.pool.query(
      `INSERT INTO callback_attempt (kind, partner_id, message_id, status, attempt, attempted_at, url, http_status, error, duration_ms)
       SELECT 'dlr'::callback_kind, m.partner_id, m.id, 2, e.n, m.created_at + e.n * interval '1 s', 'http://127.0.0.1:5432/dlr', NULL, e.error, 3 + e.n
       FROM message m, unnest($2::text[]) WITH ORDINALITY AS e(error, n) WHERE m.id = $1
       UNION ALL
       SELECT 'dlr'::callback_kind, partner_id, id, 2, 9, created_at + interval '20 s', 'http://127.0.0.1:5432/dlr', 502, 'timeout after 10000 ms', 10000 FROM message WHERE id = $1`,
      [id, errors],
    );
    await t.pool.query(
      `INSERT INTO callback (kind, partner_id, message_id, status, state, attempts, due_at, last_attempt_at, next_attempt_at, last_result)
       VALUES ('dlr', $1, $2, 2, 'pending', 5, now(), now(), now() + interval '1 hour', 'connection refused')`,
      [a.id, id],
    );
    const partnerView = await userA.get(`/api/messages/${id}`);
    const attempts = partnerView.body.callbackAttempts as { httpStatus: number | null; error: string | null; durationMs: number | null }[];
    expect(attempts.filter((x) => x.httpStatus === null)).toEqual(errors.map(() => expect.objectContaining({ error: 'could not connect', durationMs: null })));
    // An HTTP answer is the partner's own server speaking: shown as it is.
    expect(attempts.find((x) => x.httpStatus === 502)).toMatchObject({ error: 'timeout after 10000 ms', durationMs: 10000 });
    const failed = (partnerView.body.events as { kind: string; title: string; detail: string }[]).filter((e) => e.kind === 'callback' && !e.title.includes('HTTP'));
    expect(failed.map((e) => [e.title.replace(/^.*: /, ''), e.detail])).toEqual(errors.map(() => ['could not connect', 'http://127.0.0.1:5432/dlr']));
    expect(partnerView.body.callbacks[0].lastResult).toBe('could not connect');
    const partnerList = await userA.get('/api/callbacks');
    expect(partnerList.body.callbacks.find((c: { messageId: string }) => c.messageId === id).lastResult).toBe('could not connect');

    const operatorView = await operator.get(`/api/messages/${id}?partnerId=${a.id}`);
    expect(operatorView.body.callbackAttempts.map((x: { error: string }) => x.error)).toEqual([...errors, 'timeout after 10000 ms']);
    expect(JSON.stringify(operatorView.body.events)).toContain('127.0.0.1 is loopback');
    const operatorList = await operator.get(`/api/callbacks?partnerId=${a.id}`);
    expect(operatorList.body.callbacks.find((c: { messageId: string }) => c.messageId === id).lastResult).toBe('connection refused');
    await t.pool.query('DELETE FROM callback WHERE message_id = $1', [id]);
  });

  it('MO list: own, newest first', async () => {
    await t.pool.query(`INSERT INTO mo_message (partner_id, msisdn, service_number, text, segments, received_at) VALUES ($1, '79030000001', '4565', 'hi A', 1, now() - interval '1 minute'), ($1, '79030000002', '4565', 'second', 1, now()), ($2, '79030000003', '4566', 'hi B', 1, now())`, [a.id, b.id]);
    const r = await userA.get(`/api/mo?partnerId=${b.id}`);
    expect(r.body.mo.map((m: { text: string }) => m.text)).toEqual(['second', 'hi A']);
  });

  it('callbacks: lists and re-sends only its own parked callbacks', async () => {
    await t.pool.query(
      `INSERT INTO callback (kind, partner_id, message_id, status, state, attempts, due_at, parked_at, last_result)
       VALUES ('dlr', $1, $3, 2, 'parked', 30, now() - interval '3 days', now(), 'HTTP 500'), ('dlr', $2, $4, 2, 'parked', 30, now() - interval '3 days', now(), 'timeout')`,
      [a.id, b.id, idOf(10000), idOf(30000)],
    );
    const list = await userA.get('/api/callbacks?state=parked');
    expect(list.body.callbacks.map((c: { messageId: string }) => c.messageId)).toEqual([idOf(10000)]);
    const r = await userA.post('/api/callbacks/resend', { partnerId: b.id });
    expect(r.status).toBe(200);
    expect(r.body.resent).toBe(1);
    const { rows } = await t.pool.query<{ partner_id: number; state: string }>('SELECT partner_id, state::text AS state FROM callback ORDER BY id');
    expect(rows).toEqual([
      { partner_id: a.id, state: 'pending' },
      { partner_id: b.id, state: 'parked' },
    ]);
    const audit = await t.prisma.auditLog.findFirstOrThrow({ where: { action: 'callback.resend' } });
    expect(audit).toMatchObject({ actor: 'portal:ua', entity: `partner:${a.id}` });
  });

  it('settings: read-only view with test mode and quota left', async () => {
    const r = await userB.get('/api/account/settings');
    expect(r.body).toMatchObject({ login: 'beta', testMode: true, testQuota: 100, testQuotaLeft: 100, serviceNumbers: [] });
    await t.redis.set(`${t.prefix}:testq:${b.id}`, '30');
    expect((await userB.get('/api/account/settings')).body.testQuotaLeft).toBe(70);
    expect((await userB.patch(`/api/operator/partners/${b.id}`, { testQuota: 1000 })).status).toBe(403);
  });
});

describe('sessions and passwords', () => {
  it('logout ends the session', async () => {
    const c = await loggedIn(portal.url, 'ub', 'ub-password-1');
    const cookie = c.cookies.get('smsgw_session')!;
    expect((await c.post('/api/auth/logout')).status).toBe(200);
    const stale = new Client(portal.url);
    stale.cookies.set('smsgw_session', cookie);
    expect((await stale.get('/api/auth/me')).status).toBe(401);
  });

  it('password change: needs the current one and 10+ characters; other sessions end, this one stays', async () => {
    await createUser(t, 'pw', 'pw-password-1', 'partner', a.id);
    const one = await loggedIn(portal.url, 'pw', 'pw-password-1');
    const two = await loggedIn(portal.url, 'pw', 'pw-password-1');
    expect((await one.post('/api/auth/password', { currentPassword: 'wrong-password', newPassword: 'new-password-2' })).status).toBe(400);
    expect((await one.post('/api/auth/password', { currentPassword: 'pw-password-1', newPassword: 'short' })).status).toBe(400);
    expect((await one.post('/api/auth/password', { currentPassword: 'pw-password-1', newPassword: 'new-password-2' })).status).toBe(200);
    expect((await one.get('/api/auth/me')).status).toBe(200);
    expect((await two.get('/api/auth/me')).status).toBe(401);
    expect((await new Client(portal.url).login('pw', 'pw-password-1')).status).toBe(401);
    await loggedIn(portal.url, 'pw', 'new-password-2');
  });

  /** The Redis key of a session (its id hashed), to age it or to drop the per-user index. */
  const sessionKey = (c: Client) => `${t.prefix}:portal:session:${createHash('sha256').update(c.cookies.get('smsgw_session')!).digest('hex')}`;

  it("a change of role or partner ends the user's sessions even after the per-user index is gone", async () => {
    const id = await createUser(t, 'roles', 'roles-password-1', 'operator');
    const c = await loggedIn(portal.url, 'roles', 'roles-password-1');
    // The index once expired after the idle timeout, and then nothing was revoked.
    await t.redis.del(`${t.prefix}:portal:user-sessions:${id}`);
    expect((await operator.patch(`/api/operator/users/${id}`, { role: 'partner', partnerId: a.id })).status).toBe(200);
    expect((await c.get('/api/operator/users')).status).toBe(401);
    const again = await loggedIn(portal.url, 'roles', 'roles-password-1');
    await t.redis.del(`${t.prefix}:portal:user-sessions:${id}`);
    expect((await operator.patch(`/api/operator/users/${id}`, { partnerId: b.id })).status).toBe(200);
    expect((await again.get('/api/stats')).status).toBe(401);
  });

  it('the role and partner are read from the user on every request', async () => {
    const id = await createUser(t, 'demoted', 'demoted-password-1', 'operator');
    const c = await loggedIn(portal.url, 'demoted', 'demoted-password-1');
    expect((await c.get('/api/operator/users')).status).toBe(200);
    await t.pool.query(`UPDATE app_user SET role = 'partner', partner_id = $2 WHERE id = $1`, [id, b.id]);
    expect((await c.get('/api/operator/users')).status).toBe(403);
    expect((await c.get('/api/auth/me')).body).toMatchObject({ role: 'partner', partnerId: b.id });
  });

  it('blocking a user ends every session and refuses logins until unblocked; deleting one ends them too', async () => {
    const id = await createUser(t, 'blocked', 'blocked-password-1', 'partner', a.id);
    const c = await loggedIn(portal.url, 'blocked', 'blocked-password-1');
    await t.redis.del(`${t.prefix}:portal:user-sessions:${id}`);
    const r = await operator.post(`/api/operator/users/${id}/block`);
    expect(r.status).toBe(200);
    expect(r.body.user.blocked).toBe(true);
    expect((await c.get('/api/stats')).status).toBe(401);
    expect((await new Client(portal.url).login('blocked', 'blocked-password-1')).status).toBe(403);
    expect((await new Client(portal.url).login('blocked', 'wrong-password-1')).status).toBe(401);
    expect((await operator.post(`/api/operator/users/${id}/unblock`)).body.user.blocked).toBe(false);
    const back = await loggedIn(portal.url, 'blocked', 'blocked-password-1');
    await t.redis.del(`${t.prefix}:portal:user-sessions:${id}`);
    expect((await operator.delete(`/api/operator/users/${id}`)).status).toBe(200);
    expect((await back.get('/api/stats')).status).toBe(401);
    const audit = await t.pool.query(`SELECT action FROM audit_log WHERE entity = $1 ORDER BY id`, [`user:${id}`]);
    expect(audit.rows.map((x) => x.action)).toEqual(['user.block', 'user.unblock', 'user.delete']);
  });

  it('an operator cannot block themselves', async () => {
    const me = await t.prisma.user.findUniqueOrThrow({ where: { login: 'op' } });
    expect((await operator.post(`/api/operator/users/${me.id}/block`)).status).toBe(400);
  });

  it('a session ends at its absolute lifetime however active it is', async () => {
    await createUser(t, 'aged', 'aged-password-1', 'partner', a.id);
    const c = await loggedIn(portal.url, 'aged', 'aged-password-1');
    const key = sessionKey(c);
    const ttl = await t.redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(8 * 3600);
    const session = JSON.parse((await t.redis.get(key))!);
    // Made 11 h 59 min ago: alive, but renewed only up to the 12 h mark.
    await t.redis.set(key, JSON.stringify({ ...session, createdAt: new Date(Date.now() - (12 * 60 - 1) * 60_000).toISOString() }), 'KEEPTTL');
    expect((await c.get('/api/auth/me')).status).toBe(200);
    expect(await t.redis.ttl(key)).toBeLessThanOrEqual(60);
    await t.redis.set(key, JSON.stringify({ ...session, createdAt: new Date(Date.now() - 12 * 3600_000 - 1000).toISOString() }), 'KEEPTTL');
    expect((await c.get('/api/auth/me')).status).toBe(401);
    expect(await t.redis.exists(key)).toBe(0);
  });
});

// Last: the per-address limit counts every failure from 127.0.0.1 of the whole file.
describe('lockout', () => {
  it('after 3 failures a login is locked, even for the right password; other logins are not', async () => {
    await createUser(t, 'lock', 'lock-password', 'partner', a.id);
    for (let i = 0; i < 3; i++) expect((await new Client(portal.url).login('lock', 'nope')).status).toBe(401);
    const locked = await new Client(portal.url).login('lock', 'lock-password');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await new Client(portal.url).login('ua', 'ua-password-1')).status).toBe(200);
    const keys = await t.redis.keys(`${t.prefix}:portal:login-fail:*`);
    expect(keys.length).toBeGreaterThan(0);
  });

  it('unknown logins count too, and enough failures from one address lock it for every login', async () => {
    const before = Number((await t.redis.get(`${t.prefix}:portal:login-fail:ip:127.0.0.1`)) ?? 0);
    for (let i = before; i < 12; i++) await new Client(portal.url).login(`nobody${i}`, 'nope');
    expect((await new Client(portal.url).login('ub', 'ub-password-1')).status).toBe(429);
  });
});
