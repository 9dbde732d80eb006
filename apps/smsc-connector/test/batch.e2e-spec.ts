import { dispatchJobId, QUEUES } from '@smsgw/contracts';
import { eventually, sleep, TestEnv } from './harness';

jest.setTimeout(40_000);

let numberCounter = 0;
const nextNumber = (): string => `7905${String(++numberCounter).padStart(6, '0')}1`;

describe('mt.dispatch batch jobs', () => {
  let env: TestEnv;
  let partner: number;

  beforeAll(async () => {
    env = await TestEnv.create({ dlrDelayMs: 50 });
    await env.addConnection({ name: 'main' });
    await env.startConnector();
    partner = await env.createPartner({ status_url: 'http://127.0.0.1:9/dlr', intermediate_reports: true });
  });
  afterAll(() => env.close());

  it('handles each message of a mixed batch once: one and two segments sent, the cancelled one left, the expired one ended 5 / 16; reports queued', async () => {
    const numbers = Array.from({ length: 4 }, nextNumber);
    const [single, multi, cancelled, expired] = [
      await env.storeMessage(partner, { msisdn: numbers[0] }),
      await env.storeMessage(partner, { msisdn: numbers[1], text: 'x'.repeat(200) }),
      await env.storeMessage(partner, { msisdn: numbers[2] }),
      await env.storeMessage(partner, { msisdn: numbers[3], validUntil: new Date(Date.now() - 1000) }),
    ] as string[];
    await env.pool.query('UPDATE message SET status = 8 WHERE id = $1', [cancelled]);

    await env.enqueueBatch(partner, [single!, multi!, cancelled!, expired!]);
    const rows = await env.waitFor([single!, multi!], (m) => m.status === 2);
    expect(rows.map((r) => r.status)).toEqual([2, 2]);
    await env.waitFor([expired!], (m) => m.status === 5);
    expect((await env.message(expired!)).ext_status).toBe(16);
    expect((await env.message(cancelled!)).status).toBe(8);
    expect(env.submitsPerNumber(numbers)).toEqual([1, 2, 0, 0]);

    const reports = (await env.queuedReports()).map((r) => r.id).sort();
    expect(reports).toEqual(
      [`d${single}-0`, `d${single}-2`, `d${multi}-0`, `d${multi}-2`, `d${expired}-5`].sort(),
    );
  });

  it('the same batch job added twice sends no message twice', async () => {
    const numbers = Array.from({ length: 20 }, nextNumber);
    const ids: string[] = [];
    for (const [i, msisdn] of numbers.entries()) ids.push(await env.storeMessage(partner, { msisdn, text: i % 3 === 0 ? 'y'.repeat(180) : 'twice' }));
    await Promise.all([env.enqueueBatch(partner, ids), env.enqueueBatch(partner, ids)]);
    await env.waitFor(ids, (m) => m.status === 2);
    // A third run after both finished (a batch re-run after a crash) finds nothing to send.
    await env.enqueueBatch(partner, ids);
    await sleep(500);
    expect(env.submitsPerNumber(numbers)).toEqual(numbers.map((_, i) => (i % 3 === 0 ? 2 : 1)));
  });

  it('a batch re-run after a crash mid-message sends only the segments not recorded', async () => {
    const msisdn = nextNumber();
    const id = await env.storeMessage(partner, { msisdn, text: 'z'.repeat(200) });
    // As a run that died after the first segment was accepted and recorded leaves it.
    const connection = (await env.pool.query<{ id: number }>("SELECT id FROM smsc_connection WHERE name = 'main'")).rows[0]!.id;
    await env.pool.query('UPDATE message SET status = 0, smsc_connection_id = $2, submitted_at = now() WHERE id = $1', [id, connection]);
    await env.pool.query("INSERT INTO message_part (message_id, seq, smsc_connection_id, smsc_message_id) VALUES ($1, 1, $2, 'crashed-1')", [id, connection]);
    await env.enqueueBatch(partner, [id]);
    await eventually(() => expect(env.submitsPerNumber([msisdn])).toEqual([1]));
    await sleep(300);
    const [submit, ...more] = env.sim.control.getSubmits(10, msisdn);
    expect(more).toEqual([]);
    expect(submit!.concat?.seq).toBe(2);
  });
});

describe('batch jobs on a slow SMSC', () => {
  let env: TestEnv;
  let partner: number;

  beforeAll(async () => {
    env = await TestEnv.create();
    // 20 submits per second: a batch of 60 takes about three seconds.
    await env.addConnection({ name: 'slow', tps: 20 });
    await env.startConnector();
    partner = await env.createPartner();
  });
  afterAll(() => env.close());

  it('a high-priority message overtakes the rest of a low-priority batch already taken', async () => {
    const low = Array.from({ length: 60 }, nextNumber);
    const lowIds: string[] = [];
    for (const msisdn of low) lowIds.push(await env.storeMessage(partner, { msisdn, priority: 0 }));
    await env.enqueueBatch(partner, lowIds, 0);
    await eventually(() => expect(env.sim.control.getSubmits(100_000).length).toBeGreaterThan(5));

    const high = nextNumber();
    await env.enqueueBatch(partner, [await env.storeMessage(partner, { msisdn: high, priority: 2 })], 2);
    await env.waitFor(lowIds, (m) => m.status === 2, 20_000);
    const order = env.sim.control.getSubmits(100_000).map((s) => s.destinationAddr); // oldest first
    // Ahead of it only what was sent before it was queued and what had a place already (the
    // bound is CONNECTOR_CONCURRENCY, 10, here); not behind the rest of the batch.
    expect(order).toHaveLength(61);
    expect(order.indexOf(high)).toBeLessThan(30);
  });

  it('a graceful stop mid-batch: the messages not started get m<id> jobs of their own; after the restart each is sent once', async () => {
    const numbers = Array.from({ length: 40 }, nextNumber);
    const ids: string[] = [];
    for (const msisdn of numbers) ids.push(await env.storeMessage(partner, { msisdn }));
    await env.enqueueBatch(partner, ids);
    await eventually(() => expect(env.submitsPerNumber(numbers).filter((n) => n > 0).length).toBeGreaterThan(5));
    await env.stopConnector();

    const sent = env.submitsPerNumber(numbers);
    expect(sent.filter((n) => n === 0).length).toBeGreaterThan(10);
    const queued = new Set((await env.queuedJobs(QUEUES.MT_DISPATCH)).map((j) => j.id));
    // Nothing left in a batch: each message not sent has a job of its own.
    expect([...queued].every((id) => id.startsWith('m'))).toBe(true);
    expect(ids.filter((id, i) => sent[i] === 0 && !queued.has(dispatchJobId(id)))).toEqual([]);

    await env.startConnector();
    await env.waitFor(ids, (m) => m.status === 2, 20_000);
    expect(env.submitsPerNumber(numbers)).toEqual(numbers.map(() => 1));
  });
});
