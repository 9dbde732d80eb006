import { eventually, sleep, TestEnv } from './harness';

jest.setTimeout(30_000);

let numberCounter = 0;
const nextNumber = (): string => `7906${String(++numberCounter).padStart(6, '0')}1`;

describe('the mt.dispatch queue', () => {
  let env: TestEnv;
  let partner: number;

  beforeAll(async () => {
    env = await TestEnv.create();
    // A slow SMSC connection, so that jobs wait for capacity while cancels come in.
    await env.addConnection({ name: 'queue', tps: 40, window: 4 });
    await env.startConnector({ CONNECTOR_CONCURRENCY: '8' });
    partner = await env.createPartner();
  });
  afterAll(() => env.close());

  it('cancel racing the submit: each message is either cancelled or submitted, never both', async () => {
    const numbers = Array.from({ length: 60 }, nextNumber);
    const ids = await env.send(partner, numbers.map((msisdn) => ({ msisdn })));
    // The race starts once the worker submits: on a busy machine the bind may come up late, and
    // cancels that all land before it would test nothing. At 40 submits/s the 60 messages take
    // 1.5 s, the cancels below 0.9 s: the first ones are submitted, the last ones cancelled.
    await eventually(() => expect(env.sim.control.getSubmits(10, numbers[0])).toHaveLength(1), 15_000);
    // /cancel's statement, for every message, while the worker is busy with them.
    const cancelled = new Set<string>();
    await Promise.all(
      ids.map(async (id, i) => {
        await sleep(i * 15);
        const { rowCount } = await env.pool.query(
          'UPDATE message SET status = 8, updated_at = now(), done_at = now() WHERE id = $1 AND status = 1',
          [id],
        );
        if (rowCount === 1) cancelled.add(id);
      }),
    );
    expect(cancelled.size).toBeGreaterThan(0);
    expect(cancelled.size).toBeLessThan(ids.length);
    const rows = await env.waitFor(ids, (m) => m.status === 8 || m.status === 2, 15_000);
    const submits = env.sim.control.getSubmits(1000);
    rows.forEach((row, i) => {
      const sent = submits.filter((s) => s.destinationAddr === numbers[i]).length;
      if (cancelled.has(row.id)) {
        expect([row.status, sent]).toEqual([8, 0]);
      } else {
        expect([row.status, sent]).toEqual([2, 1]);
      }
    });
  });

  it('a high-priority message overtakes normal ones queued before it', async () => {
    await env.dispatchQueue.pause();
    const normal = Array.from({ length: 40 }, nextNumber);
    const high = nextNumber();
    const low = nextNumber();
    const ids = await env.send(partner, [{ msisdn: low, priority: 0 }, ...normal.map((msisdn) => ({ msisdn })), { msisdn: high, priority: 2 }]);
    const before = env.sim.control.getSubmits(1000).length;
    await env.dispatchQueue.resume();
    await env.waitFor(ids, (m) => m.status === 2, 15_000);
    const order = env.sim.control.getSubmits(1000).slice(before).map((s) => s.destinationAddr);
    expect(order).toHaveLength(42);
    // Taken first (the worker takes at most CONNECTOR_CONCURRENCY jobs at a time).
    expect(order.indexOf(high)).toBeLessThan(8);
    // Low priority is queued behind every normal message.
    expect(order.indexOf(low)).toBeGreaterThan(order.length - 8);
  });

  it('a message whose validity ran out before it was handed over ends 5/16 without reaching the SMSC', async () => {
    const msisdn = nextNumber();
    const [id] = await env.send(partner, [{ msisdn, validUntil: new Date(Date.now() - 1000) }]);
    const [row] = await env.waitFor([id!]);
    expect(row).toMatchObject({ status: 5, ext_status: 16 });
    expect(env.sim.control.getSubmits(10, msisdn)).toEqual([]);
  });

  it('a job for a message that does not exist, or with a bad payload, changes nothing and does not stop the worker', async () => {
    await env.dispatchQueue.add('mt.dispatch', { messageId: '999999999', partnerId: partner, priority: 1 }, { jobId: 'm999999999' });
    await env.dispatchQueue.add('mt.dispatch', { messageId: 'not-an-id' }, { jobId: 'bad' });
    const [id] = await env.send(partner, [{ msisdn: nextNumber() }]);
    await env.waitFor([id!], (m) => m.status === 2);
    const failed = await env.dispatchQueue.getJob('bad');
    expect(await failed?.getState()).toBe('failed');
  });
});
