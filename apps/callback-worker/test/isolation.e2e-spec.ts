import { createTestEnv, startPartnerServer, waitFor, type PartnerServer, type TestEnv, type Worker } from './harness';

// A slow partner must not slow the others, and a partner's concurrency limit holds across
// worker instances (PROTOCOL §5, ARCHITECTURE: per-partner limits hold across instances).
jest.setTimeout(30_000);

describe('callback-worker: partners are isolated from each other', () => {
  let t: TestEnv;
  let slow: PartnerServer;
  let fast: PartnerServer;
  let workers: Worker[];

  beforeAll(async () => {
    t = await createTestEnv();
    slow = await startPartnerServer(() => ({ status: 200, delayMs: 5000 }));
    fast = await startPartnerServer(() => ({ status: 200 }));
    const settings = {
      CALLBACK_TIMEOUT_MS: '10000',
      CALLBACK_CONCURRENCY: '12',
      CALLBACK_PARTNER_CONCURRENCY: '3',
      CALLBACK_PARTNER_WAITERS: '2',
      CALLBACK_PARTNER_MAX_WAIT_MS: '300',
    };
    // Two instances sharing the queues, as two containers would.
    workers = [await t.startWorker(settings), await t.startWorker(settings)];
  });

  afterAll(async () => {
    // Unanswered slow requests end first, so the workers' graceful close does not wait for them.
    await slow?.close();
    await fast?.close();
    await t?.close();
  });

  it("delivers a fast partner's reports at once while a 5 s partner holds its own slots", async () => {
    const slowId = await t.createPartner({ status_url: slow.url('/slow') });
    const fastId = await t.createPartner({ status_url: fast.url('/fast') });
    // The slow partner's backlog is queued first, far more than both instances have slots.
    await t.enqueueDlr(slowId, await t.insertMessages(slowId, 60));
    await waitFor('slow partner busy', () => slow.inFlight >= 3);

    const fastIds = await t.insertMessages(fastId, 40);
    const enqueuedAt = Date.now();
    await t.enqueueDlr(fastId, fastIds);
    await waitFor('every fast report', () => fast.received.length >= 40, 5000);
    const lateness = fast.received.map((r) => r.at - enqueuedAt);
    expect(Math.max(...lateness)).toBeLessThan(1500);
    expect(new Set(fast.received.map((r) => r.query.get('transactionId')))).toEqual(new Set(fastIds));

    // The slow partner never had more than its limit in flight, across both instances; its
    // backlog went back to the queue as delayed jobs and keeps being served.
    expect(slow.maxInFlight).toBe(3);
    const metrics = await fetch(`http://127.0.0.1:${workers[0]!.port}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/smsgw_callback_deferred_total\{kind="dlr",reason="busy"\} [1-9]/);
    await waitFor('the next wave of slow reports', () => slow.received.length >= 6, 8000);
    expect(slow.maxInFlight).toBe(3);
  });
});
