import { attemptsOf, callbackOf, createTestEnv, startPartnerServer, waitFor, type PartnerServer, type TestEnv, type Worker } from './harness';

// Callbacks aimed inside the network (SSRF): with CALLBACK_ALLOW_PRIVATE_TARGETS off, as in
// production, a partner whose URL points at a server on 127.0.0.1 (stored directly, past the
// save-time check) gets nothing: each attempt fails like a connection error, is recorded and
// retried. With the setting on, the same callbacks go through.
jest.setTimeout(30_000);

describe('callback-worker: callback target policy', () => {
  let t: TestEnv;
  let worker: Worker;
  let partner: PartnerServer;

  beforeAll(async () => {
    t = await createTestEnv();
    partner = await startPartnerServer();
    worker = await t.startWorker({ CALLBACK_ALLOW_PRIVATE_TARGETS: 'false' });
  });

  afterAll(async () => {
    await partner?.close();
    await t?.close();
  });

  it('off: loopback by address and by name, DLR and MO, refused without a request; recorded and retried; on: delivered', async () => {
    expect(worker.config.CALLBACK_ALLOW_PRIVATE_TARGETS).toBe(false);
    const byAddress = await t.createPartner({ status_url: partner.url('/by-address') });
    const byName = await t.createPartner({ status_url: `http://localhost:${partner.port}/by-name` });
    const mapped = await t.createPartner({ status_url: `http://[::ffff:127.0.0.1]:${partner.port}/mapped` });
    const mo = await t.createPartner({ mo_url: partner.url('/mo') });
    const [m1] = await t.insertMessages(byAddress, 1);
    const [m2] = await t.insertMessages(byName, 1);
    const [m3] = await t.insertMessages(mapped, 1);
    const moId = await t.insertMo(mo);
    await t.enqueueDlr(byAddress, [m1!]);
    await t.enqueueDlr(byName, [m2!]);
    await t.enqueueDlr(mapped, [m3!]);
    await t.enqueueMo(mo, [moId]);

    // Retried on the normal schedule (first retry after 200 ms here): a DNS change may fix it.
    await waitFor('two refused attempts each', async () => {
      const counts = await Promise.all([m1, m2, m3].map(async (id) => (await attemptsOf(t.pool, { messageId: id! })).length));
      return counts.every((n) => n >= 2) && (await attemptsOf(t.pool, { moId })).length >= 1;
    });
    const first = async (where: { messageId?: string; moId?: string }) => (await attemptsOf(t.pool, where))[0]!;
    expect(await first({ messageId: m1! })).toMatchObject({ http_status: null, error: 'refused by policy: 127.0.0.1 is loopback' });
    expect(await first({ messageId: m2! })).toMatchObject({ http_status: null, error: 'refused by policy: localhost is loopback' });
    expect(await first({ messageId: m3! })).toMatchObject({ http_status: null, error: 'refused by policy: ::ffff:7f00:1 is an IPv4-mapped form of 127.0.0.1, loopback' });
    expect(await first({ moId })).toMatchObject({ http_status: null, error: 'refused by policy: 127.0.0.1 is loopback' });
    // The attempt's URL is the partner's, as with any failure.
    expect((await first({ messageId: m1! })).url).toContain(`/by-address?transactionId=${m1}`);
    expect(await callbackOf(t.pool, { messageId: m1! })).toMatchObject({ state: 'pending', last_result: 'refused by policy: 127.0.0.1 is loopback' });
    expect(partner.received).toEqual([]);

    // The operator allows private targets (a development setup): the pending callbacks go through.
    await worker.close();
    worker = await t.startWorker({ CALLBACK_ALLOW_PRIVATE_TARGETS: 'true' });
    await waitFor('all delivered', async () => {
      const states = await Promise.all([{ messageId: m1 }, { messageId: m2 }, { messageId: m3 }, { moId }].map(async (w) => (await callbackOf(t.pool, w))?.state));
      return states.every((s) => s === 'delivered');
    });
    expect(partner.received.map((r) => r.path).sort()).toEqual(['/by-address', '/by-name', '/mapped', '/mo']);
  });
});
