import { TcpProxy } from '@smsgw/db/dist/testing';
import { attemptsOf, createTestEnv, sleep, startPartnerServer, waitFor, type PartnerServer, type TestEnv } from './harness';

jest.setTimeout(60_000);

/**
 * PostgreSQL goes away between a push and its record: the partner has the report, so the worker
 * must keep the record and write it when the database is back, not push again.
 */
describe('callback-worker: the database lost right after a push', () => {
  let t: TestEnv;
  let proxy: TcpProxy;
  let partner: PartnerServer;

  beforeAll(async () => {
    t = await createTestEnv();
    proxy = await TcpProxy.start(Number(new URL(t.db.url).port || 5432));
  });

  afterAll(async () => {
    await partner?.close();
    await t?.close();
    await proxy?.close();
  });

  it('records the attempt once the database answers again, and pushes each report once', async () => {
    let cut = false;
    partner = await startPartnerServer(() => {
      // The first push takes the database away before the worker can record it.
      if (!cut) {
        cut = true;
        proxy.down();
      }
      return { status: 200, body: 'OK' };
    });
    const partnerId = await t.createPartner({ status_url: partner.url('/dlr') });
    const ids = await t.insertMessages(partnerId, 5);
    const worker = await t.startWorker({ DATABASE_URL: proxy.url(t.db.url) });
    await t.enqueueDlr(partnerId, ids);
    await waitFor('the first push', () => cut);
    await sleep(3000); // the database away: no record can be written, no report loaded
    proxy.up();
    await waitFor(
      'every attempt recorded',
      async () => {
        const rows = await Promise.all(ids.map((messageId) => attemptsOf(t.pool, { messageId })));
        return rows.every((r) => r.length === 1) || null;
      },
      20_000,
    );
    await sleep(500);
    const pushes = partner.received.map((r) => r.query.get('transactionId'));
    expect(pushes.sort()).toEqual([...ids].sort());
    await worker.close();
  });

  it('acknowledges an MO pushed just before the database went away once it is back, and pushes it once', async () => {
    let cut = false;
    const server = await startPartnerServer(() => {
      if (!cut) {
        cut = true;
        proxy.down();
      }
      return { status: 200, body: 'OK' };
    });
    try {
      const partnerId = await t.createPartner({ mo_url: server.url('/mo') });
      const moId = await t.insertMo(partnerId, { text: 'YES', msisdn: '79031112244', service_number: '4545', segments: 1 });
      proxy.up();
      const worker = await t.startWorker({ DATABASE_URL: proxy.url(t.db.url) });
      await t.enqueueMo(partnerId, [moId]);
      await waitFor('the push', () => cut);
      await sleep(3000);
      proxy.up();
      await waitFor(
        'the acknowledgement',
        async () => (await t.pool.query('SELECT 1 FROM mo_message WHERE id = $1 AND callback_done_at IS NOT NULL', [moId])).rows.length > 0 || null,
        20_000,
      );
      await sleep(1000);
      expect(server.received.map((r) => r.query.get('messageId'))).toEqual([moId]);
      await worker.close();
    } finally {
      await server.close();
    }
  });

  it('keeps the attempts while callback_attempt has no partition for now, and writes them once it has', async () => {
    // The partition holding today taken out, as if the scheduler's partitions task had not run.
    const { rows: [part] } = await t.pool.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'callback_attempt'::regclass AND pg_get_expr(c.relpartbound, c.oid) LIKE '%MINVALUE%'`,
    );
    await t.pool.query(`ALTER TABLE callback_attempt DETACH PARTITION ${part!.name}`);
    const server = await startPartnerServer(() => ({ status: 200, body: 'OK' }));
    try {
      const partnerId = await t.createPartner({ status_url: server.url('/dlr') });
      const ids = await t.insertMessages(partnerId, 3);
      const worker = await t.startWorker();
      await t.enqueueDlr(partnerId, ids);
      await waitFor('the pushes', () => server.received.length >= 3 || null);
      await sleep(1500);
      expect((await Promise.all(ids.map((messageId) => attemptsOf(t.pool, { messageId })))).every((r) => r.length === 0)).toBe(true);
      await t.pool.query(`ALTER TABLE callback_attempt ATTACH PARTITION ${part!.name} ${part!.bound}`);
      await waitFor(
        'every attempt recorded',
        async () => (await Promise.all(ids.map((messageId) => attemptsOf(t.pool, { messageId })))).every((r) => r.length === 1) || null,
        20_000,
      );
      await sleep(500);
      expect(server.received.map((r) => r.query.get('transactionId')).sort()).toEqual([...ids].sort());
      await worker.close();
    } finally {
      await server.close();
    }
  });
});
