import { dlrJobId } from '@smsgw/contracts';
import { acknowledgedCount, attemptsOf, callbackOf, createTestEnv, sleep, startPartnerServer, waitFor, type PartnerServer, type TestEnv } from './harness';

// Batch jobs of delivery reports (as the connector queues them) against real partner HTTP
// servers, PostgreSQL and Redis.
jest.setTimeout(20_000);

describe('callback-worker: batch jobs of delivery reports', () => {
  let t: TestEnv;
  let partner: PartnerServer;
  const requestsFor = (server: PartnerServer, id: string) => server.received.filter((r) => r.query.get('transactionId') === id).length;

  beforeAll(async () => {
    t = await createTestEnv();
    await t.startWorker();
    partner = await startPartnerServer();
  });

  afterAll(async () => {
    await partner?.close();
    await t?.close();
  });

  it("delivers a batch for two partners; a failing partner's report gets its own job and is delivered later", async () => {
    let failing = true;
    const flaky = await startPartnerServer(() => (failing ? { status: 500, body: 'down' } : { status: 200, body: 'OK' }));
    try {
      const healthyId = await t.createPartner({ status_url: partner.url('/batch-ok') });
      const flakyId = await t.createPartner({ status_url: flaky.url('/batch-flaky') });
      const healthy = await t.insertMessages(healthyId, 5);
      const [bad] = await t.insertMessages(flakyId, 1);
      const batchJob = await t.enqueueDlrBatch([
        ...healthy.slice(0, 2).map((messageId) => ({ messageId, partnerId: healthyId, status: 2 as const })),
        { messageId: bad!, partnerId: flakyId, status: 2 },
        ...healthy.slice(2).map((messageId) => ({ messageId, partnerId: healthyId, status: 2 as const })),
      ]);

      // The batch job completes once its reports are settled or handed over.
      await waitFor('batch job done', async () => (await t.dlrQueue.getJob(batchJob)) === undefined);
      expect(await acknowledgedCount(t.pool, healthy)).toBe(healthy.length);
      // Its own job retries it (every 200 ms or so, longer each time) while the partner fails.
      const handedOver = await t.dlrQueue.getJob(dlrJobId(bad!, 2));
      expect(handedOver?.data).toEqual({ messageId: bad, partnerId: flakyId, status: 2 });
      expect(await callbackOf(t.pool, { messageId: bad! })).toMatchObject({ state: 'pending', last_result: '500' });

      failing = false;
      await waitFor('the failed report delivered by its own job', async () => (await callbackOf(t.pool, { messageId: bad! }))?.state === 'delivered', 8000);
      const attempts = (await attemptsOf(t.pool, { messageId: bad! })).map((a) => a.http_status);
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts).toEqual([...attempts.slice(0, -1).map(() => 500), 200]);
      await sleep(300);
      expect(healthy.map((id) => requestsFor(partner, id))).toEqual(healthy.map(() => 1));
      expect(requestsFor(flaky, bad!)).toBe(attempts.length);
      expect(await t.dlrQueue.getJob(dlrJobId(bad!, 2))).toBeUndefined();
    } finally {
      await flaky.close();
    }
  });

  it('does not push again a report acknowledged at its first attempt when its single job is added again', async () => {
    const partnerId = await t.createPartner({ status_url: partner.url('/batch-again') });
    const [id] = await t.insertMessages(partnerId, 1);
    await t.enqueueDlrBatch([{ messageId: id!, partnerId, status: 2 }]);
    await waitFor('acknowledged', async () => (await acknowledgedCount(t.pool, [id!])) === 1);
    // Only its attempt row records it (no callback row); the scheduler's sweep adds its single job.
    expect(await callbackOf(t.pool, { messageId: id! })).toBeUndefined();
    await t.enqueueDlr(partnerId, [id!]);
    await waitFor('single job done', async () => (await t.dlrQueue.getJob(dlrJobId(id!, 2))) === undefined);
    await sleep(200);
    expect(requestsFor(partner, id!)).toBe(1);
    expect(await attemptsOf(t.pool, { messageId: id! })).toHaveLength(1);
  });

  it('does not push duplicates when a batch job runs again', async () => {
    const partnerId = await t.createPartner({ status_url: partner.url('/batch-rerun') });
    const ids = await t.insertMessages(partnerId, 30);
    const reports = ids.map((messageId) => ({ messageId, partnerId, status: 2 as const }));
    const first = await t.enqueueDlrBatch(reports);
    await waitFor('first run done', async () => (await t.dlrQueue.getJob(first)) === undefined);
    const again = await t.enqueueDlrBatch(reports);
    await waitFor('second run done', async () => (await t.dlrQueue.getJob(again)) === undefined);
    await sleep(200);
    expect(ids.map((id) => requestsFor(partner, id))).toEqual(ids.map(() => 1));
    expect(await acknowledgedCount(t.pool, ids)).toBe(ids.length);
    const { rows } = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM callback_attempt WHERE message_id = ANY($1::bigint[])', [ids]);
    expect(rows[0]!.n).toBe(ids.length);
  });

  it('pushes once a report queued twice at once (a batch and its single job, as after a receipt applied again)', async () => {
    const slow = await startPartnerServer(() => ({ status: 200, body: 'OK', delayMs: 300 }));
    try {
      const partnerId = await t.createPartner({ status_url: slow.url('/twice') });
      const ids = await t.insertMessages(partnerId, 5);
      const batch = await t.enqueueDlrBatch(ids.map((messageId) => ({ messageId, partnerId, status: 2 as const })));
      await t.enqueueDlr(partnerId, ids);
      await waitFor('batch done', async () => (await t.dlrQueue.getJob(batch)) === undefined, 10_000);
      await waitFor('single jobs done', async () => (await Promise.all(ids.map((id) => t.dlrQueue.getJob(dlrJobId(id, 2))))).every((j) => j === undefined), 10_000);
      await sleep(200);
      expect(ids.map((id) => requestsFor(slow, id))).toEqual(ids.map(() => 1));
      expect(await acknowledgedCount(t.pool, ids)).toBe(ids.length);
    } finally {
      await slow.close();
    }
  });
});
