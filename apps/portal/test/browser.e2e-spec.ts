// The portal in Debian's Chromium (playwright-core), against the real platform: an SMSC
// simulator, the SMPP connector, the ingress and the callback worker run in this process on a
// throw-away database and Redis prefix, the portal as a child process (its built dist/main.js).
// A partner user sends messages, sees them on the dashboard with the numbers of the message table,
// finds one and opens its timeline; an operator renames the partner's clientId parameter and the
// running ingress accepts the next /send under the new name, and generates the partner's SMPP
// password (shown once). Screenshots of the main pages go to
// apps/portal/screenshots/ (gitignored, rewritten by every run).
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { hashApiPassword } from '@smsgw/db';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { partnerChangedChannel, smscChangedChannel } from '@smsgw/contracts';
import { createCallbackWorkerApp } from '@smsgw/callback-worker/dist/bootstrap';
import { loadCallbackConfig } from '@smsgw/callback-worker/dist/config';
import { createIngressApp } from '@smsgw/ingress-api/dist/bootstrap';
import { loadIngressConfig } from '@smsgw/ingress-api/dist/config';
import { StatsRollup } from '@smsgw/scheduler/dist/stats/stats-rollup.service';
import { startConnector, type RunningConnector } from '@smsgw/smsc-connector/dist/connector';
import { loadConnectorConfig } from '@smsgw/smsc-connector/dist/config';
import { startSimulator, type RunningSimulator } from '@smsgw/smsc-simulator/dist/index';
import { startSmppServer, type RunningSmppServer } from '@smsgw/smpp-server/dist/bootstrap';
import { loadSmppServerConfig } from '@smsgw/smpp-server/dist/config';
import { createPartner, createTestEnv, createUser, PEPPER, type Portal, REDIS_URL, sleep, startPortal, type TestEnv } from './harness';

jest.setTimeout(120_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.resolve(__dirname, '..', 'screenshots');

let t: TestEnv;
let sim: RunningSimulator;
let connector: RunningConnector;
let ingress: NestFastifyApplication;
let ingressUrl: string;
let worker: NestFastifyApplication;
let endpoint: http.Server;
let portal: Portal;
let browser: Browser;
let partner: { id: number; login: string; password: string };
let smppServer: RunningSmppServer;
/** A second partner, bound over SMPP with the `smpp` npm package, for the operator's SMPP binds. */
let smppClient: SmppClient;
const callbacks: string[] = [];

// eslint-disable-next-line @typescript-eslint/no-require-imports
const smpp = require('smpp') as { connect(o: { url: string }): SmppClient };
interface SmppClient {
  on(event: string, listener: (...args: unknown[]) => void): void;
  bind_transceiver(o: Record<string, unknown>, cb: (pdu: { command_status: number }) => void): void;
  submit_sm(o: Record<string, unknown>, cb: (pdu: { command_status: number }) => void): void;
  close(): void;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function logIn(context: BrowserContext, login: string, password: string, screenshot?: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${portal.url}/`);
  await page.getByLabel('Login').fill(login);
  await page.getByLabel('Password').fill(password);
  if (screenshot) await shot(page, screenshot);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  return page;
}

async function send(params: Record<string, string>): Promise<{ status: number; body: string }> {
  const res = await fetch(`${ingressUrl}/send?${new URLSearchParams(params).toString()}`);
  return { status: res.status, body: await res.text() };
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (see .ci/run)`);
  fs.mkdirSync(SHOTS, { recursive: true });
  t = await createTestEnv();

  sim = await startSimulator({ smppHost: '127.0.0.1', smppPort: 0, httpHost: '127.0.0.1', httpPort: 0, accounts: [{ systemId: 'smsgw', password: 'smsgw' }], dlrDelayMs: 50, recordLimit: 1000 });
  const { rows } = await t.pool.query<{ id: number }>(`INSERT INTO smsc_connection (name, host, port, system_id, password, tps, "window") VALUES ('simulator', '127.0.0.1', $1, 'smsgw', 'smsgw', 200, 20) RETURNING id`, [sim.smppPort]);
  const base = { DATABASE_URL: t.db.url, REDIS_URL, REDIS_PREFIX: t.prefix, LOG_LEVEL: 'silent' };
  connector = await startConnector(
    loadConnectorConfig({ ...base, CONNECTOR_HTTP_PORT: '0', CONNECTOR_HTTP_HOST: '127.0.0.1', CONNECTOR_CONCURRENCY: '20', CONNECTOR_RECONNECT_BASE_MS: '100', CONNECTOR_RECONNECT_MAX_MS: '400', CONNECTOR_SHUTDOWN_TIMEOUT_MS: '2000' }),
  );
  await t.redis.publish(smscChangedChannel(t.prefix), String(rows[0]!.id));

  ingress = await createIngressApp(loadIngressConfig({ ...base, API_PASSWORD_PEPPER: PEPPER, INGRESS_PORT: '0', INGRESS_HOST: '127.0.0.1' }));
  await ingress.listen({ port: 0, host: '127.0.0.1' });
  ingressUrl = `http://127.0.0.1:${(ingress.getHttpServer().address() as AddressInfo).port}`;

  // The partner's endpoint is on 127.0.0.1: private callback targets allowed, as in development.
  worker = await createCallbackWorkerApp(
    loadCallbackConfig({ ...base, CALLBACK_HTTP_PORT: '0', CALLBACK_HTTP_HOST: '127.0.0.1', CALLBACK_TIMEOUT_MS: '1000', CALLBACK_ALLOW_PRIVATE_TARGETS: 'true' }),
  );
  await worker.listen({ port: 0, host: '127.0.0.1' });
  endpoint = http.createServer((req, res) => {
    callbacks.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/plain' }).end('');
  });
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;

  partner = await createPartner(t, 'shop', { name: 'Shop & Co', senders: ['SHOP', 'PROMO'], defaultSender: 'SHOP', statusUrl: `${hook}/dlr`, moUrl: `${hook}/mo`, timeZone: 'UTC' });
  await t.prisma.serviceNumber.create({ data: { number: '4565', partnerId: partner.id } });
  await t.redis.publish(partnerChangedChannel(t.prefix), String(partner.id));
  await createUser(t, 'shop-user', 'shop-user-pass', 'partner', partner.id);
  await createUser(t, 'ops', 'ops-password', 'operator');

  const bulk = await createPartner(t, 'bulk', { senders: ['BULK'], defaultSender: 'BULK', smppPasswordHash: hashApiPassword('smpp-pw', PEPPER) });
  await t.redis.publish(partnerChangedChannel(t.prefix), String(bulk.id));
  smppServer = await startSmppServer(
    loadSmppServerConfig({ ...base, API_PASSWORD_PEPPER: PEPPER, SMPP_SERVER_PORT: '0', SMPP_SERVER_HOST: '127.0.0.1', SMPP_SERVER_HTTP_PORT: '0', SMPP_SERVER_HTTP_HOST: '127.0.0.1' }),
  );
  smppClient = await new Promise<SmppClient>((resolve, reject) => {
    const c = smpp.connect({ url: `smpp://127.0.0.1:${smppServer.smppPort}` });
    c.on('error', (e) => reject(e as Error));
    c.bind_transceiver({ system_id: 'bulk', password: 'smpp-pw' }, (pdu) => (pdu.command_status === 0 ? resolve(c) : reject(new Error(`bind: ${pdu.command_status}`))));
  });

  portal = await startPortal(t, { CONNECTOR_URLS: `http://127.0.0.1:${connector.httpPort}`, SMPP_SERVER_URLS: `http://127.0.0.1:${smppServer.httpPort}` });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  smppClient?.close();
  await portal?.close();
  await smppServer?.close().catch(() => undefined);
  await worker?.close().catch(() => undefined);
  await ingress?.close().catch(() => undefined);
  await connector?.close().catch(() => undefined);
  await sim?.close({ unbind: false }).catch(() => undefined);
  endpoint?.closeAllConnections();
  await new Promise((r) => endpoint?.close(r));
  await t?.close();
});

describe('partner user', () => {
  let context: BrowserContext;
  let page: Page;
  const ids: string[] = [];

  beforeAll(async () => {
    const messages: Record<string, string>[] = [
      { clientId: '79030000001', message: 'Your code is 1234' },
      { clientId: '79030000002', message: 'Order 42 is on its way', source: 'PROMO' },
      { clientId: '79030000003', message: 'Привет! Это длинное сообщение в кодировке UCS-2, которое не помещается в один сегмент и уходит двумя частями.' },
      { clientId: '79030000004', message: 'Hello again' },
      { clientId: '79030000005', message: 'Last one', partnerMsgId: 'order-5' },
    ];
    for (const m of messages) {
      const r = await send({ serviceId: 'shop', pass: partner.password, ...m });
      expect(r.status).toBe(200);
      ids.push(r.body.split('\n')[1]!);
    }
    // Every message reaches a final status and its report is acknowledged.
    for (const until = Date.now() + 30_000; ; await sleep(200)) {
      const { rows } = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM message WHERE partner_id = $1 AND status IN (2, 5)', [partner.id]);
      const { rows: acks } = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback_attempt WHERE partner_id = $1 AND http_status = 200', [partner.id]);
      if (rows[0]!.n === messages.length && acks[0]!.n >= messages.length) break;
      if (Date.now() > until) throw new Error(`messages not final within 30 s: ${rows[0]!.n} of ${messages.length}, ${acks[0]!.n} reports`);
    }
    sim.control.injectMo({ from: '79030000001', to: '4565', text: 'STOP' } as never);
    // The scheduler's statistics rollup, as its periodic task runs it.
    const rollup = new StatsRollup(t.pool, { SCHEDULER_ROLLUP_BATCH: 1000, SCHEDULER_REPORT_GRACE_MS: 60_000, SCHEDULER_ROLLUP_INTERVAL_MS: 1000, SCHEDULER_TASKS: [] } as never, { now: () => new Date() } as never);
    await rollup.foldAll(new Date());
    context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    page = await logIn(context, 'shop-user', 'shop-user-pass', '01-login');
  });

  afterAll(async () => {
    await context?.close();
  });

  it('dashboard shows the numbers of the message table', async () => {
    const { rows } = await t.pool.query<{ total: number; delivered: number; undelivered: number; segments: number }>(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 2)::int AS delivered, count(*) FILTER (WHERE status = 5)::int AS undelivered, sum(segments)::int AS segments FROM message WHERE partner_id = $1`,
      [partner.id],
    );
    const want = rows[0]!;
    expect(want.total).toBe(5);
    await page.getByTestId('chart-live').waitFor();
    const value = async (id: string) => (await page.getByTestId(id).locator('.stat-value').innerText()).replace(/,/g, '');
    expect(await value('total-messages')).toBe(String(want.total));
    expect(await value('total-delivered')).toBe(String(want.delivered));
    expect(await value('total-undelivered')).toBe(String(want.undelivered));
    expect(await page.getByTestId('total-messages').locator('.stat-hint').innerText()).toBe(`${want.segments} segments`);
    // The chart's data: today's bar holds every message, the delivered ones as delivered.
    const today = new Date().toISOString().slice(0, 10);
    const bars = JSON.parse((await page.getByTestId('chart-live').getAttribute('data-days'))!) as [string, number, number][];
    expect(bars.find(([d]) => d === today)).toEqual([today, want.total, want.delivered]);
    const row = page.locator(`[data-testid=days-table] tr[data-day="${today}"]`);
    expect(await row.locator('[data-col=messages]').innerText()).toBe(String(want.total));
    expect(await row.locator('[data-col=delivered]').innerText()).toBe(String(want.delivered));
    await shot(page, '02-dashboard');
  });

  it('finds a message by number and opens its timeline', async () => {
    await page.getByRole('link', { name: 'Messages' }).click();
    await page.getByTestId('messages-table').waitFor();
    await shot(page, '03-messages');
    await page.getByLabel('Number').fill('+7 903 000-00-03');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/msisdn=/);
    const rows = page.locator('[data-testid=messages-table] tbody tr');
    await toHaveCount(rows, 1);
    await rows.first().getByRole('link').click();
    const timeline = page.getByTestId('timeline');
    await timeline.waitFor();
    const text = await timeline.innerText();
    for (const s of ['Accepted', 'Handed to the operator', 'Segment 1 submitted', 'Segment 2 submitted', 'Report (status']) expect(text).toContain(s);
    expect(text).toMatch(/Delivered|Not delivered/);
    expect(text).toMatch(/attempt 1: HTTP 200/);
    const order = ['Accepted', 'Handed to the operator', 'Segment 1 submitted', 'Segment 1 receipt', 'Report (status'].map((s) => text.indexOf(s));
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(page.url()).toContain(`/messages/${ids[2]}`);
    await shot(page, '04-message-timeline');
  });

  it('shows incoming messages, callbacks and settings', async () => {
    await page.getByRole('link', { name: 'Incoming (MO)' }).click();
    await page.getByText('STOP').waitFor({ timeout: 15_000 }).catch(async () => {
      await page.reload();
      await page.getByText('STOP').waitFor();
    });
    await shot(page, '05-mo');
    await page.getByRole('link', { name: 'Callbacks' }).click();
    await page.getByText('Nothing parked').waitFor();
    await shot(page, '06-callbacks');
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByTestId('test-mode').waitFor();
    expect(await page.getByTestId('test-mode').innerText()).toContain('100 of 100 test messages');
    await shot(page, '07-settings');
  });

  it('issues a new API password only after the portal password is given again', async () => {
    await page.getByTestId('rotate-api-password').click();
    await page.getByLabel('Your portal password').fill('wrong-password');
    await page.getByRole('button', { name: 'Issue new API password' }).click();
    await page.getByText('the current password is wrong').waitFor();
    await page.getByLabel('Your portal password').fill('shop-user-pass');
    await page.getByRole('button', { name: 'Issue new API password' }).click();
    const fresh = await page.getByTestId('secret').innerText();
    expect((await send({ serviceId: 'shop', pass: partner.password, clientId: '79030000011', message: 'old' })).status).toBe(401);
    partner.password = fresh;
    // (No message sent with it: the operator's dashboard below counts the messages.)
    expect((await t.prisma.partner.findUniqueOrThrow({ where: { id: partner.id } })).apiPasswordHash).toBe(hashApiPassword(fresh, PEPPER));
  });

  it('sees SMPP disabled on its settings page, with no way to enable it itself', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByTestId('smpp-disabled-note').waitFor();
    expect(await page.getByTestId('smpp-disabled-note').innerText()).toContain('only your operator can enable it');
    expect(await page.getByTestId('rotate-smpp-password').count()).toBe(0);
  });

  it('cannot open the operator console', async () => {
    const res = await page.request.get(`${portal.url}/api/operator/partners`);
    expect(res.status()).toBe(403);
  });
});

describe('operator', () => {
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    page = await logIn(context, 'ops', 'ops-password');
  });

  afterAll(async () => {
    await context?.close();
  });

  it("renames the partner's clientId parameter; the running ingress accepts the next /send under the new name", async () => {
    expect((await send({ serviceId: 'shop', pass: partner.password, to: '79030000009', message: 'before' })).status).toBe(400);
    await page.getByTestId('partners-table').waitFor();
    await shot(page, '08-operator-partners');
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    const field = page.locator('input[name=requestParamNames]');
    await field.waitFor();
    await field.fill('clientId=to');
    await page.getByTestId('save-partner').click();
    await page.getByTestId('notice').waitFor();
    const saved = Date.now();
    let accepted: { status: number; body: string } = { status: 0, body: '' };
    while (Date.now() - saved < 1000) {
      accepted = await send({ serviceId: 'shop', pass: partner.password, to: '79030000009', message: 'after the rename' });
      if (accepted.status === 200) break;
      await sleep(50);
    }
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatch(/^OK\n\d+$/);
    await shot(page, '09-operator-partner-edit');
    const audit = await t.prisma.auditLog.findFirstOrThrow({ where: { entity: `partner:${partner.id}` }, orderBy: { id: 'desc' } });
    expect(audit).toMatchObject({ actor: 'portal:ops', action: 'partner.update', after: expect.objectContaining({ requestParamNames: { clientId: 'to' } }) });
  });

  it("generates the partner's SMPP password on its page and sees it once; a wrong chosen one is refused at the field", async () => {
    await page.goto(`${portal.url}/operator/partners/${partner.id}`);
    await page.getByTestId('generate-smpp-password').click();
    const secret = page.getByTestId('smpp-secret');
    await secret.waitFor();
    const password = await secret.innerText();
    expect(password).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(await page.locator('.secret').innerText()).toContain('copy it now');
    expect((await t.prisma.partner.findUniqueOrThrow({ where: { id: partner.id } })).smppPasswordHash).toBe(hashApiPassword(password, PEPPER));
    await shot(page, '15-operator-smpp-password');
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await secret.count()).toBe(0);
    await page.getByLabel('Or set a chosen password').fill('nine-char');
    await page.getByRole('button', { name: 'Set password' }).click();
    expect(await page.getByTestId('smpp-password-error').innerText()).toContain('SMPP 3.4 allows at most 8');
    expect((await t.prisma.partner.findUniqueOrThrow({ where: { id: partner.id } })).smppPasswordHash).toBe(hashApiPassword(password, PEPPER));
  });

  it('sees the audit log, SMSC connections with live bind state, queues and users', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByTestId('audit-table').getByText('partner.update').first().waitFor();
    await shot(page, '10-operator-audit');
    // Three messages over bulk's SMPP bind just before: its row shows them stored and its rate.
    for (const text of ['one', 'two', 'three']) {
      const status = await new Promise<number>((resolve) =>
        smppClient.submit_sm({ source_addr: 'BULK', source_addr_ton: 5, destination_addr: '79030000009', dest_addr_ton: 1, dest_addr_npi: 1, data_coding: 0, short_message: text }, (pdu) => resolve(pdu.command_status)),
      );
      expect(status).toBe(0);
    }
    await page.getByRole('link', { name: 'SMSC connections' }).click();
    await page.getByTestId('smsc-table').getByText('bound').waitFor();
    const binds = page.getByTestId('smpp-binds');
    await binds.getByText('bulk').waitFor();
    const headers = (await binds.locator('thead th').allTextContents()).map((h) => h.trim());
    expect(headers).toEqual(['Partner', 'Bind', 'From', 'Since', 'Window', 'Stored', 'Refused', 'Submits/s', 'Delivered', 'Delivers/s']);
    const cells = (await binds.locator('tbody tr').filter({ hasText: 'bulk' }).locator('td').allTextContents()).map((c) => c.trim());
    expect(cells[1]).toBe('transceiver');
    expect(cells.slice(4, 7)).toEqual(['0/100', '3', '0']);
    expect(Number(cells[7])).toBeGreaterThan(0); // submits/s over the last 10 s
    expect(cells.slice(8)).toEqual(['0', '0']);
    await sleep(3500); // a second look gives the throughput
    await shot(page, '11-operator-smsc');
    await page.getByRole('link', { name: 'Queues' }).click();
    await page.getByTestId('queues-table').waitFor();
    await shot(page, '12-operator-queues');
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByText('shop-user').waitFor();
    await shot(page, '13-operator-users');
    // The partner's account as the operator sees it (partner picker).
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByTestId('chart-live').waitFor();
    expect((await page.getByTestId('total-messages').locator('.stat-value').innerText()).replace(/,/g, '')).toBe('6');
  });

  it('opens Bull Board behind the operator login', async () => {
    const board = await context.newPage();
    await board.goto(`${portal.url}/operator/queues/`);
    await board.getByText('mt.dispatch').first().waitFor({ timeout: 15_000 });
    await shot(board, '14-bull-board');
  });

  it("changes a queue from Bull Board's own UI (its CSRF token travels as the board's client sends it)", async () => {
    const board = await context.newPage();
    await board.goto(`${portal.url}/operator/queues/queue/callback.mo`);
    // The queue's actions menu is the last button of its tab bar, once the tabs are drawn.
    await board.getByText(/^completed$/i).first().waitFor({ timeout: 15_000 });
    const buttons = board.locator('button');
    await buttons.nth((await buttons.count()) - 1).click();
    await board.getByRole('menuitem', { name: 'Pause' }).click();
    const answer = board.waitForResponse((r) => r.url().endsWith('/api/queues/callback.mo/pause'));
    await board.getByRole('button', { name: 'Confirm' }).click();
    const res = await answer;
    expect(`${res.status()} ${await res.text()}`).toMatch(/^200 /);
    const q = new Queue('callback.mo', { prefix: t.prefix, connection: { url: REDIS_URL } });
    try {
      expect(await q.isPaused()).toBe(true);
      await q.resume();
    } finally {
      await q.close();
    }
  });
});

describe('partner user, once the operator has enabled SMPP', () => {
  it('generates a new SMPP password of its own after giving its portal password again', async () => {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    try {
      const page = await logIn(context, 'shop-user', 'shop-user-pass');
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByTestId('rotate-smpp-password').click();
      await page.getByLabel('Your portal password (SMPP)').fill('shop-user-pass');
      await page.getByRole('button', { name: 'Issue new SMPP password' }).click();
      const password = await page.getByTestId('smpp-secret').innerText();
      expect(password).toMatch(/^[A-Za-z0-9]{8}$/);
      expect((await t.prisma.partner.findUniqueOrThrow({ where: { id: partner.id } })).smppPasswordHash).toBe(hashApiPassword(password, PEPPER));
      await shot(page, '16-partner-smpp-password');
    } finally {
      await context.close();
    }
  });
});

/** Waits until a locator matches `n` elements (playwright-core has no expect). */
async function toHaveCount(locator: ReturnType<Page['locator']>, n: number): Promise<void> {
  for (const until = Date.now() + 5000; ; await sleep(100)) {
    if ((await locator.count()) === n) return;
    if (Date.now() > until) throw new Error(`expected ${n} rows, found ${await locator.count()}`);
  }
}
