import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { PartnerGate, type GateResult } from '../src/delivery/partner-gate.service';
import { loadCallbackConfig } from '../src/config';
import { FAST, REDIS_URL, sleep } from './harness';

// The partner gate against a real Redis: waiters keep their place in line, a partner whose slots
// turn over slowly gets few waiters (the rest go back to the queue, before any work is done for
// them), and one whose slots turn over quickly keeps its jobs waiting even when its requests look
// slow (as they do when the instance is short of CPU).
describe('PartnerGate', () => {
  let redis: Redis;
  let prefix: string;
  let gate: PartnerGate;
  let partner = 0;

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
    prefix = `cbg${process.pid}_${randomBytes(3).toString('hex')}`;
    const config = loadCallbackConfig({ REDIS_URL, REDIS_PREFIX: prefix, ...FAST, CALLBACK_PARTNER_MAX_WAIT_MS: '500', CALLBACK_CONCURRENCY: '64' });
    gate = new PartnerGate(redis, config);
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  const granted = (r: GateResult) => {
    if (!r.granted) throw new Error(`not granted: ${r.reason}`);
    return r.lease;
  };
  /** The partner's recent request duration as the gate reads it from Redis. */
  const setLatency = (id: number, ms: number) => redis.hset(`${prefix}:cb:dlr:${id}:breaker`, 'lat', ms);

  it('serves waiters in arrival order, each freed slot to the first in line', async () => {
    const id = ++partner;
    const first = granted(await gate.acquire('dlr', id, 1));
    const order: string[] = [];
    const waiting = ['a', 'b', 'c', 'd'].map(async (name, i) => {
      await sleep(i * 5);
      const lease = granted(await gate.acquire('dlr', id, 1));
      order.push(name);
      await sleep(20);
      await gate.release(lease, true, 20);
    });
    await sleep(40);
    await gate.release(first, true, 60);
    await Promise.all(waiting);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  it('lets few jobs of a partner with slow turnover wait, and sends the others back before any work is done', async () => {
    const id = ++partner;
    const lease = granted(await gate.acquire('dlr', id, 2));
    granted(await gate.acquire('dlr', id, 2));
    // 2 slots of 1 s requests: a slot every 500 ms, so one job can expect a slot within 500 ms.
    await setLatency(id, 1000);
    expect(await gate.deferEarly('dlr', id, 2)).toBeNull(); // nothing known to wait yet
    const waiter = gate.acquire('dlr', id, 2);
    await sleep(20);
    const second = await gate.acquire('dlr', id, 2);
    expect(second).toMatchObject({ granted: false, reason: 'busy' });
    // The line is full: a new job goes back at once, due when the partner should have room for it.
    const early = await gate.deferEarly('dlr', id, 2);
    expect(early).toBeGreaterThanOrEqual(50);
    await gate.release(lease, true, 1000);
    expect((await waiter).granted).toBe(true);
  });

  it('keeps a partner whose slots turn over quickly waiting here, even when its requests look slow', async () => {
    const id = ++partner;
    // Requests that look slow (300 ms: 4 slots would free about 13 per second), but slots freed here quickly.
    await setLatency(id, 300);
    const held = await Promise.all([1, 2, 3, 4].map(() => gate.acquire('dlr', id, 4).then(granted)));
    for (const l of held.splice(0)) await gate.release(l, true, 300);
    for (let i = 0; i < 200; i++) await gate.release(granted(await gate.acquire('dlr', id, 4)), true, 300);
    for (let i = 0; i < 4; i++) held.push(granted(await gate.acquire('dlr', id, 4)));
    await setLatency(id, 300);
    // 20 jobs: more than 500 ms · 4 / 300 ms = 6 by latency, but the recent release rate (200 slots
    // freed within a moment) lets them wait.
    const jobs = Array.from({ length: 20 }, () => gate.acquire('dlr', id, 4));
    await sleep(30);
    expect(await gate.deferEarly('dlr', id, 4)).toBeNull();
    const releasing = (async () => {
      while (held.length > 0) {
        await sleep(5);
        const l = held.shift()!;
        await gate.release(l, true, 300);
      }
    })();
    const results: GateResult[] = [];
    for (const j of jobs) {
      const r = await j;
      results.push(r);
      if (r.granted) held.push(r.lease);
    }
    await releasing;
    expect(results.filter((r) => !r.granted)).toEqual([]);
  });

  it('does not take the leases of a killed instance for a slow partner: jobs are put back for a short while', async () => {
    const id = ++partner;
    await setLatency(id, 2);
    // Every slot held by an instance that died half a request timeout ago: its leases (a request
    // timeout plus 5 s long) stay until they expire, and look like requests in flight that long.
    const timeout = loadCallbackConfig({ ...FAST }).CALLBACK_TIMEOUT_MS;
    const started = Date.now() - timeout / 2;
    for (let i = 0; i < 4; i++) await redis.zadd(`${prefix}:cb:dlr:${id}:leases`, started + timeout + 5_000, `dead.${i}`);
    const results = await Promise.all(Array.from({ length: 200 }, () => gate.acquire('dlr', id, 4)));
    const deferred = results.map((r) => {
      if (r.granted) throw new Error('granted a slot a dead instance holds');
      return r.retryInMs;
    });
    // 200 jobs of a 2 ms partner with 4 slots: back within a second or two, not minutes.
    expect(Math.max(...deferred)).toBeLessThan(3_000);
  }, 20_000);
});
