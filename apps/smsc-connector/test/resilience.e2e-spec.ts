import { QueueEvents } from 'bullmq';
import { dispatchJobId, QUEUES } from '@smsgw/contracts';
import { isFinal, REDIS_URL, sleep, TestEnv } from './harness';

jest.setTimeout(40_000);

let numberCounter = 0;
const nextNumber = (): string => `7904${String(++numberCounter).padStart(6, '0')}1`;

describe('an SMSC that throttles', () => {
  let env: TestEnv;
  let partner: number;

  beforeAll(async () => {
    // The SMSC takes 10 submits per second; the connection is configured for far more.
    env = await TestEnv.create({ tps: 10 });
    await env.addConnection({ name: 'throttled', tps: 1000 });
    await env.startConnector();
    partner = await env.createPartner();
  });
  afterAll(() => env.close());

  it('is answered with backoff: every message is delivered, each submitted once', async () => {
    const numbers = Array.from({ length: 40 }, nextNumber);
    const ids = await env.send(partner, numbers.map((msisdn) => ({ msisdn })));
    const rows = await env.waitFor(ids, (m) => m.status === 2, 25_000);
    expect(rows).toHaveLength(40);
    expect(env.sim.control.getCounters().throttled).toBeGreaterThan(0);
    expect(env.submitsPerNumber(numbers)).toEqual(numbers.map(() => 1));
  });

  it('a batch job: the refused messages get delayed m<id> jobs of their own and are sent later; the others are not sent again', async () => {
    const events = new QueueEvents(QUEUES.MT_DISPATCH, { prefix: env.prefix, connection: { url: REDIS_URL } as never });
    await events.waitUntilReady();
    const delayed = new Set<string>();
    events.on('delayed', ({ jobId }) => delayed.add(jobId));
    try {
      const throttledBefore = env.sim.control.getCounters().throttled;
      const numbers = Array.from({ length: 30 }, nextNumber);
      const ids: string[] = [];
      for (const msisdn of numbers) ids.push(await env.storeMessage(partner, { msisdn }));
      await env.enqueueBatch(partner, ids);
      await env.waitFor(ids, (m) => m.status === 2, 30_000);
      expect(env.sim.control.getCounters().throttled).toBeGreaterThan(throttledBefore);
      expect(env.submitsPerNumber(numbers)).toEqual(numbers.map(() => 1));
      // Only m<id> jobs of this batch's messages were delayed, and some were.
      expect(delayed.size).toBeGreaterThan(0);
      expect([...delayed].every((jobId) => ids.some((id) => dispatchJobId(id) === jobId))).toBe(true);
    } finally {
      await events.close();
    }
  });
});

describe('an SMSC that goes away mid-traffic', () => {
  let env: TestEnv;
  let partner: number;

  beforeAll(async () => {
    env = await TestEnv.create({ dlrDelayMs: 50 });
    // 40 submits per second: the traffic below takes about two seconds.
    await env.addConnection({ name: 'flaky', tps: 40 });
    await env.startConnector();
    partner = await env.createPartner();
  });
  afterAll(() => env.close());

  it.each([
    ['crashes (connections dropped)', false],
    ['restarts (unbinds first)', true],
  ])('%s and comes back on the same port: every message ends final, none stays 1 or 0', async (_label, unbind) => {
    // A short validity, so that receipts the SMSC lost with its memory end the messages soon (5/2)
    // rather than after a day.
    const validUntil = new Date(Date.now() + 6000);
    const numbers = Array.from({ length: 80 }, nextNumber);
    const ids = await env.send(
      partner,
      numbers.map((msisdn, i) => ({ msisdn, validUntil, text: i % 4 === 0 ? 'z'.repeat(200) : 'restart' })),
    );
    await sleep(700);
    await env.restartSimulator({ unbind, downMs: 700, sim: { dlrDelayMs: 50 } });
    const rows = await env.waitFor(ids, isFinal, 20_000);
    expect(rows.filter((r) => r.status === 0 || r.status === 1)).toEqual([]);
    // Most went through; only those whose receipt was lost with the SMSC (or that ran out of
    // validity) are not delivered.
    const delivered = rows.filter((r) => r.status === 2).length;
    expect(delivered).toBeGreaterThan(40);
    for (const r of rows.filter((row) => row.status === 5)) expect([2, 16]).toContain(r.ext_status);
  });
});

describe('a connector stopped mid-traffic (SIGTERM) and started again', () => {
  let env: TestEnv;
  let partner: number;

  beforeAll(async () => {
    env = await TestEnv.create({ dlrDelayMs: 20 });
    await env.addConnection({ name: 'restart', tps: 50 });
    await env.startConnector();
    partner = await env.createPartner();
  });
  afterAll(() => env.close());

  it('leaves no message half-sent, sends no segment twice, and the next instance finishes the rest', async () => {
    const numbers = Array.from({ length: 60 }, nextNumber);
    const ids = await env.send(
      partner,
      numbers.map((msisdn, i) => ({ msisdn, text: i % 3 === 0 ? 'y'.repeat(300) : 'graceful' })),
    );
    await sleep(400);
    await env.stopConnector();

    // Stopped cleanly: a message is still held (1), or handed over with every segment recorded.
    const { rows: states } = await env.pool.query<{ id: string; status: number; segments: number; parts: number }>(
      `SELECT m.id::text, m.status, m.segments, (SELECT count(*)::int FROM message_part p WHERE p.message_id = m.id) AS parts
       FROM message m WHERE m.id = ANY($1::bigint[])`,
      [ids],
    );
    const held = states.filter((s) => s.status === 1);
    expect(held.length).toBeGreaterThan(0);
    expect(held.every((s) => s.parts === 0)).toBe(true);
    expect(states.filter((s) => s.status !== 1).every((s) => s.parts === s.segments)).toBe(true);

    await env.startConnector();
    await env.waitFor(ids, (m) => m.status === 2, 20_000);
    const segments = numbers.map((_, i) => (i % 3 === 0 ? 2 : 1));
    expect(env.submitsPerNumber(numbers)).toEqual(segments);
  });
});
