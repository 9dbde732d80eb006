import { type JobType, Queue, Worker } from 'bullmq';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { QUEUES, type QueueName } from '@smsgw/contracts';
import { TcpProxy } from '@smsgw/db/dist/testing';
import { eventually, REDIS_URL, sleep, TestEnv, type TestScheduler } from './harness';

// smsgw_queue_jobs and smsgw_queue_oldest_waiting_seconds as a scrape of the scheduler's real
// /metrics shows them: jobs put in each state with BullMQ on real Redis (a prefix of the test's
// own), then Redis cut off behind a relay and given back.
jest.setTimeout(30_000);

type Series = Map<string, number>;

/** The scheduler's /metrics over HTTP: `name{labels}` → value, and how long it took to answer. */
async function scrape(s: TestScheduler): Promise<{ series: Series; ms: number }> {
  const started = Date.now();
  const res = await fetch(`http://127.0.0.1:${s.httpPort}/metrics`);
  expect(res.status).toBe(200);
  const series: Series = new Map();
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*(?:\{[^}]*\})?) (\S+)$/i.exec(line);
    if (m) series.set(m[1]!, Number(m[2]));
  }
  return { series, ms: Date.now() - started };
}

const jobs = (queue: string, state: string) => `smsgw_queue_jobs{queue="${queue}",state="${state}"}`;
const oldest = (queue: string) => `smsgw_queue_oldest_waiting_seconds{queue="${queue}"}`;
const queueSeries = (series: Series) => [...series.keys()].filter((k) => k.startsWith('smsgw_queue_'));

describe('scheduler: queue gauges', () => {
  let t: TestEnv;
  let proxy: TcpProxy;
  let s: TestScheduler;
  /** Queues of the test's own on the environment's prefix, one per platform queue. */
  const queues = new Map<QueueName, Queue>();
  let worker: Worker | null = null;
  let releaseActive: () => void = () => undefined;

  beforeAll(async () => {
    t = await TestEnv.create();
    proxy = await TcpProxy.start(Number(new URL(REDIS_URL).port || 6379), new URL(REDIS_URL).hostname);
    s = await t.startScheduler({ REDIS_URL: proxy.url(REDIS_URL) });
    for (const name of Object.values(QUEUES)) {
      queues.set(name, new Queue(name, { prefix: t.prefix, connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }) }));
    }
  });

  afterAll(async () => {
    releaseActive();
    await worker?.close();
    for (const q of queues.values()) {
      const c = await q.getBackend().client.catch(() => null);
      await q.close().catch(() => undefined);
      c?.disconnect();
    }
    await proxy?.up();
    await t?.close();
    await proxy?.close();
  });

  it('counts the jobs of every queue by state and the age of the oldest one ready to run', async () => {
    const now = Date.now();
    const q = (name: QueueName) => queues.get(name)!;
    // callback.dlr: two waiting jobs; the first added is the next to run.
    await q(QUEUES.CALLBACK_DLR).add('dlr', {}, { timestamp: now - 30_000 });
    await q(QUEUES.CALLBACK_DLR).add('dlr', {}, { timestamp: now - 10_000 });
    // mt.dispatch: prioritized on two levels (the oldest on the later level) and a delayed job
    // overdue by 25 s that no worker has moved yet.
    await q(QUEUES.MT_DISPATCH).add('mt', {}, { priority: 1, timestamp: now - 10_000 });
    await q(QUEUES.MT_DISPATCH).add('mt', {}, { priority: 3, timestamp: now - 50_000 });
    await q(QUEUES.MT_DISPATCH).add('mt', {}, { priority: 3, timestamp: now - 5_000 });
    await q(QUEUES.MT_DISPATCH).add('mt', {}, { priority: 2, timestamp: now - 45_000, delay: 20_000 });
    // mt.test-outcome: a job delayed into the future (not ready: no age), and one added 40 s ago
    // with a delay of 30 s, moved to the wait list (BullMQ sets its hash's delay back to 0 then):
    // ready for 10 s, not 40.
    await q(QUEUES.MT_TEST_OUTCOME).add('outcome', {}, { delay: 60_000 });
    await (await q(QUEUES.MT_TEST_OUTCOME).add('outcome', {}, { timestamp: now - 40_000, delay: 30_000 })).promote();
    // callback.mo: one active (held by the test's worker), one failed, one delayed into the future.
    await q(QUEUES.CALLBACK_MO).add('mo', {}, { delay: 60_000 });
    const held = new Promise<void>((resolve) => (releaseActive = resolve));
    worker = new Worker(
      QUEUES.CALLBACK_MO,
      async (job) => {
        if (job.name === 'fail') throw new Error('refused by the test');
        await held;
      },
      { prefix: t.prefix, connection: { host: new URL(REDIS_URL).hostname, port: Number(new URL(REDIS_URL).port || 6379), maxRetriesPerRequest: null }, concurrency: 2 },
    );
    await q(QUEUES.CALLBACK_MO).add('hold', {});
    await q(QUEUES.CALLBACK_MO).add('fail', {}, { attempts: 1 });
    await eventually(async () => expect(await q(QUEUES.CALLBACK_MO).getJobCounts('active', 'failed')).toEqual({ active: 1, failed: 1 }));

    const { series } = await scrape(s);
    const expected: Record<QueueName, Record<string, number>> = {
      [QUEUES.CALLBACK_DLR]: { waiting: 2, active: 0, delayed: 0, prioritized: 0, failed: 0, paused: 0 },
      [QUEUES.MT_DISPATCH]: { waiting: 0, active: 0, delayed: 1, prioritized: 3, failed: 0, paused: 0 },
      [QUEUES.MT_TEST_OUTCOME]: { waiting: 1, active: 0, delayed: 1, prioritized: 0, failed: 0, paused: 0 },
      [QUEUES.CALLBACK_MO]: { waiting: 0, active: 1, delayed: 1, prioritized: 0, failed: 1, paused: 0 },
    };
    for (const [queue, counts] of Object.entries(expected)) {
      const scraped = Object.fromEntries(Object.keys(counts).map((state) => [state, series.get(jobs(queue, state))]));
      expect({ queue, ...scraped }).toEqual({ queue, ...counts });
      // The same numbers as BullMQ's own count.
      expect(await queues.get(queue as QueueName)!.getJobCounts(...(Object.keys(counts) as JobType[]))).toEqual(counts);
    }
    const age = (queue: string) => (series.get(oldest(queue)) ?? NaN) - (Date.now() - now) / 1000;
    expect(age(QUEUES.CALLBACK_DLR)).toBeGreaterThanOrEqual(29);
    expect(age(QUEUES.CALLBACK_DLR)).toBeLessThanOrEqual(31);
    expect(age(QUEUES.MT_DISPATCH)).toBeGreaterThanOrEqual(49);
    expect(age(QUEUES.MT_DISPATCH)).toBeLessThanOrEqual(51);
    expect(age(QUEUES.MT_TEST_OUTCOME)).toBeGreaterThanOrEqual(9);
    expect(age(QUEUES.MT_TEST_OUTCOME)).toBeLessThanOrEqual(11);
    expect(series.get(oldest(QUEUES.CALLBACK_MO))).toBe(0);

    // Without the prioritized jobs, the overdue delayed one is the oldest ready to run.
    for (const job of await q(QUEUES.MT_DISPATCH).getJobs(['prioritized'])) await job?.remove();
    await eventually(async () => {
      const a = ((await scrape(s)).series.get(oldest(QUEUES.MT_DISPATCH)) ?? NaN) - (Date.now() - now) / 1000;
      expect(a).toBeGreaterThanOrEqual(24);
      expect(a).toBeLessThanOrEqual(27);
    });
  });

  it('leaves the series out while Redis does not answer (smsgw_dependency_up says so), and shows them again when it does', async () => {
    // What the queue gauges log, whatever the log level lets through.
    const said: string[] = [];
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(function (this: Logger, message: unknown) {
      said.push(String(message));
    });
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(function (this: Logger, message: unknown) {
      said.push(String(message));
    });
    const before = (await scrape(s)).series;
    expect(queueSeries(before).length).toBeGreaterThan(0);
    expect(before.get('smsgw_dependency_up{dependency="redis"}')).toBe(1);
    await proxy.refuse();
    await eventually(async () => {
      const { series, ms } = await scrape(s);
      expect(queueSeries(series)).toEqual([]);
      expect(ms).toBeLessThan(1500);
      expect(series.has('process_cpu_user_seconds_total')).toBe(true);
      expect(series.get('smsgw_dependency_up{dependency="redis"}')).toBe(0);
      expect(series.get('smsgw_dependency_up{dependency="postgres"}')).toBe(1);
    });
    for (let i = 0; i < 2; i++) {
      await sleep(1100); // past the gauges' 1 s reuse: each scrape reads Redis again
      expect(queueSeries((await scrape(s)).series)).toEqual([]);
    }
    await proxy.up();
    await eventually(async () => expect((await scrape(s)).series.get(jobs(QUEUES.CALLBACK_MO, 'failed'))).toBe(1));
    // Once for the outage, however many scrapes it lasted, and once for its end.
    await sleep(1100);
    await scrape(s);
    warn.mockRestore();
    log.mockRestore();
    const gaugeLines = said.filter((m) => m.startsWith('queue gauges:'));
    expect(gaugeLines).toEqual([expect.stringMatching(/^queue gauges: Redis does not answer \(.+\); smsgw_queue_\* left out of \/metrics until it does$/), 'queue gauges: Redis answers again']);
    // Every connection of the scheduler back before it is closed.
    await eventually(async () => expect((await fetch(`http://127.0.0.1:${s.httpPort}/health/ready`)).status).toBe(200));
  });
});
