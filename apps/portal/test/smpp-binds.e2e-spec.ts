import { Startup } from '@smsgw/common';
import { hashApiPassword } from '@smsgw/db';
import { startSmppServer, type RunningSmppServer } from '@smsgw/smpp-server/dist/bootstrap';
import { loadSmppServerConfig } from '@smsgw/smpp-server/dist/config';
import { createPartner, createTestEnv, createUser, loggedIn, PEPPER, type Portal, REDIS_URL, startPortal, type TestEnv } from './harness';

// The `smpp` npm package as the partners' client.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const smpp = require('smpp') as { connect(o: { url: string }): SmppClient };
interface SmppClient {
  on(event: string, listener: (...args: unknown[]) => void): void;
  bind_transceiver(o: Record<string, unknown>, cb: (pdu: { command_status: number }) => void): void;
  bind_transmitter(o: Record<string, unknown>, cb: (pdu: { command_status: number }) => void): void;
  submit_sm(o: Record<string, unknown>, cb: (pdu: { command_status: number; message_id?: string }) => void): void;
  close(): void;
}

/** The operator console and a partner's settings page show the SMPP servers' binds, each partner only its own. */
describe('portal: SMPP binds', () => {
  let t: TestEnv;
  let server: RunningSmppServer;
  let portal: Portal;
  let shopId: number;
  let otherId: number;
  const clients: SmppClient[] = [];
  let shopClient: SmppClient;

  const bind = (login: string, mode: 'bind_transceiver' | 'bind_transmitter') =>
    new Promise<SmppClient>((resolve, reject) => {
      const c = smpp.connect({ url: `smpp://127.0.0.1:${server.smppPort}` });
      clients.push(c);
      c.on('error', (e) => reject(e as Error));
      c[mode]({ system_id: login, password: 'smpp-pw' }, (pdu) => (pdu.command_status === 0 ? resolve(c) : reject(new Error(`bind ${login}: ${pdu.command_status}`))));
    });

  beforeAll(async () => {
    t = await createTestEnv();
    const smppPasswordHash = hashApiPassword('smpp-pw', PEPPER);
    shopId = (await createPartner(t, 'shop', { smppPasswordHash })).id;
    otherId = (await createPartner(t, 'other', { smppPasswordHash })).id;
    await createUser(t, 'ops', 'ops-password', 'operator');
    await createUser(t, 'shop-user', 'shop-user-pass', 'partner', shopId);
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
      }),
    );
    await server.app.get(Startup).started();
    shopClient = await bind('shop', 'bind_transceiver');
    await bind('other', 'bind_transmitter');
    // A second server that does not answer: its binds are unknown, the others still shown.
    portal = await startPortal(t, { SMPP_SERVER_URLS: `http://127.0.0.1:${server.httpPort},http://127.0.0.1:1` });
  }, 30_000); // a database migrated, an SMPP server, two binds and the portal: seconds on a busy machine
  afterAll(async () => {
    for (const c of clients) c.close();
    await portal?.close();
    await server?.close();
    await t?.close();
  });

  it('shows the operator every bind, and which server did not answer', async () => {
    // Two messages over shop's bind just before (the rates cover the last 10 s): its throughput is not 0.
    for (const text of ['one', 'two']) {
      const status = await new Promise<number>((resolve) =>
        shopClient.submit_sm({ source_addr: 'TEST', source_addr_ton: 5, destination_addr: '79161234567', dest_addr_ton: 1, dest_addr_npi: 1, data_coding: 0, short_message: text }, (pdu) => resolve(pdu.command_status)),
      );
      expect(status).toBe(0);
    }
    const ops = await loggedIn(portal.url, 'ops', 'ops-password');
    const r = await ops.get('/api/operator/smsc/smpp-binds');
    expect(r.status).toBe(200);
    expect(r.body.unreachable).toEqual(['http://127.0.0.1:1']);
    expect(r.body.binds.map((b: { login: string; mode: string }) => [b.login, b.mode])).toEqual([
      ['other', 'transmitter'],
      ['shop', 'transceiver'],
    ]);
    expect(r.body.binds[0]).toMatchObject({ partnerId: otherId, window: 100, inFlight: 0, accepted: 0, refused: 0, server: `http://127.0.0.1:${server.httpPort}` });
    expect(r.body.binds[0].remote).toMatch(/^127\.0\.0\.1:\d+$/);
    // Throughput: other sent nothing; shop's two submit_sm in the last seconds, no deliver_sm yet.
    expect(r.body.binds[0]).toMatchObject({ submitsPerSecond: 0, delivered: 0, deliverFailed: 0, deliversPerSecond: 0 });
    expect(r.body.binds[1]).toMatchObject({ partnerId: shopId, accepted: 2, refused: 0, delivered: 0, deliverFailed: 0, deliversPerSecond: 0 });
    expect(r.body.binds[1].submitsPerSecond).toBeGreaterThan(0);
    expect(r.body.binds[1].submitsPerSecond).toBeLessThanOrEqual(2);
    // One partner's, as on its settings page.
    const other = await ops.get(`/api/account/smpp-binds?partnerId=${otherId}`);
    expect(other.body.binds.map((b: { login: string }) => b.login)).toEqual(['other']);
  });

  it('shows a partner its own binds only, whatever partnerId it asks for, and not the operator list', async () => {
    const shop = await loggedIn(portal.url, 'shop-user', 'shop-user-pass');
    for (const q of ['', `?partnerId=${otherId}`]) {
      const r = await shop.get(`/api/account/smpp-binds${q}`);
      expect(r.status).toBe(200);
      expect(r.body.binds.map((b: { login: string; partnerId: number }) => [b.login, b.partnerId])).toEqual([['shop', shopId]]);
    }
    expect((await shop.get('/api/operator/smsc/smpp-binds')).status).toBe(403);
  });
});
