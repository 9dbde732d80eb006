import { eventually, sleep, TestEnv } from './harness';
import { startCallbackWorker, startPartnerEndpoint, startSmpp, type CallbackWorker, type PartnerEndpoint, type Smpp } from './platform';

// Redis loses every key of the deployment while messages flow: immediate messages (stored and
// queued as the ingress does), postponed ones released by the scheduler, the connector handing
// them to an SMSC simulator, receipts coming back, the callback worker pushing reports. Afterwards
// every accepted message still reaches a final status, and the partner gets a report for each.
// The callback worker is down until after the flush, so reports queued before it are lost too.
jest.setTimeout(90_000);

describe('scheduler: Redis flushed mid-traffic', () => {
  let t: TestEnv;
  let smpp: Smpp;
  let worker: CallbackWorker;
  let endpoint: PartnerEndpoint;

  beforeAll(async () => {
    t = await TestEnv.create();
    endpoint = await startPartnerEndpoint();
    // 100 submits/s: the traffic lasts a few seconds, so the flush lands in the middle of it.
    smpp = await startSmpp(t, { tps: 100, dlrDelayMs: 300 });
  });

  afterAll(async () => {
    await worker?.close().catch(() => undefined);
    await smpp?.close();
    await endpoint?.close();
    await t?.close();
  });

  it('loses no message and no report', async () => {
    const scheduler = await t.startScheduler({
      SCHEDULER_TASKS: 'release,sweep,rollup',
      SCHEDULER_RELEASE_INTERVAL_MS: '100',
      SCHEDULER_SWEEP_INTERVAL_MS: '250',
      SCHEDULER_ROLLUP_INTERVAL_MS: '200',
      SCHEDULER_OUTBOX_GRACE_MS: '1500',
      SCHEDULER_REPORT_GRACE_MS: '1500',
      SCHEDULER_REPORT_RECHECK_MAX_MS: '3000',
    });
    const partner = await t.createPartner({ status_url: endpoint.url });
    const validUntil = new Date(Date.now() + 3_600_000);
    const immediate = await t.store(partner, 300, { msisdn: '', validUntil });
    await t.enqueue(partner, immediate);
    const postponed = await t.store(partner, 200, { msisdn: '', validUntil, releaseAt: new Date(Date.now() + 1000) });
    const ids = [...immediate, ...postponed];

    await sleep(1800);
    const before = await t.messages(ids);
    const flushed = await t.flushRedis();
    const counts = (rows: typeof before) => rows.reduce<Record<number, number>>((c, m) => ({ ...c, [m.status]: (c[m.status] ?? 0) + 1 }), {});
    // The flush hit work in every stage: waiting, handed over, finished.
    expect(flushed).toBeGreaterThan(0);
    expect(counts(before)[1]).toBeGreaterThan(0);
    expect(counts(before)[2]).toBeGreaterThan(0);
    // The callback worker starts after the flush: the reports queued before it are gone with Redis.
    worker = await startCallbackWorker(t);

    await eventually(async () => {
      const rows = await t.messages(ids);
      expect(counts(rows)).toEqual({ 2: ids.length });
    }, 60_000);
    await eventually(() => {
      const missing = ids.filter((id) => !endpoint.reports.get(id)?.includes('2'));
      expect(missing).toEqual([]);
    }, 30_000);
    // The sweeps rebuilt what was lost: messages waiting for the connector, and reports.
    expect(scheduler.sweep.totals.dispatch.found).toBeGreaterThan(0);
    expect(scheduler.sweep.totals.report.found).toBeGreaterThan(0);
  });
});
