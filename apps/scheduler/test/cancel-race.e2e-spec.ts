import { eventually, TestEnv, type TestScheduler } from './harness';
import { call, createApiPartner, startIngress, startSmpp, submittedNumbers, type ApiPartner, type Ingress, type Smpp } from './platform';

// /cancel (the real ingress) racing the release of the same messages, with the real connector
// handing released messages to an SMSC simulator: each message ends cancelled (8) or sent, never
// both, and the partner's answer says which.
jest.setTimeout(60_000);

describe('scheduler: cancel racing release', () => {
  let t: TestEnv;
  let s: TestScheduler;
  let ingress: Ingress;
  let smpp: Smpp;
  let partner: ApiPartner;

  beforeAll(async () => {
    t = await TestEnv.create();
    ingress = await startIngress(t);
    smpp = await startSmpp(t);
    partner = await createApiPartner(t);
    s = await t.startScheduler({ SCHEDULER_RELEASE_BATCH: '20', SCHEDULER_RELEASE_CONCURRENCY: '2' });
  });

  afterAll(async () => {
    await smpp?.close();
    await ingress?.close();
    await t?.close();
  });

  it('a message is either cancelled or sent', async () => {
    const n = 300;
    // One number per message (ending in 1: no simulator magic number), so its record tells which were sent.
    const ids = await t.store(partner.id, n, { msisdn: '', releaseAt: new Date(Date.now() - 1000), validUntil: new Date(Date.now() + 3_600_000) });

    const answers = new Map<string, number>();
    const cancelAll = async () => {
      // From the last one: the release takes the first ones first, so both outcomes happen.
      const queue = [...ids].reverse();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let id = queue.shift(); id; id = queue.shift()) {
            const r = await call(ingress.port, '/cancel', { serviceId: partner.login, pass: partner.password, transactionId: id });
            answers.set(id, r.status);
          }
        }),
      );
    };
    const [released] = await Promise.all([s.release.releaseDue(new Date()), cancelAll()]);

    let rows = await t.messages(ids);
    await eventually(async () => {
      rows = await t.messages(ids);
      expect(rows.filter((m) => m.status !== 8 && m.status !== 2)).toEqual([]);
    }, 30_000);

    const { rows: numbers } = await t.pool.query<{ id: string; msisdn: string }>('SELECT id::text, msisdn FROM message WHERE id = ANY($1::bigint[])', [ids]);
    const msisdn = new Map(numbers.map((r) => [r.id, r.msisdn]));
    const sent = submittedNumbers(smpp.sim);
    const cancelled = rows.filter((m) => m.status === 8);
    const delivered = rows.filter((m) => m.status === 2);
    for (const m of cancelled) {
      expect([m.id, sent.has(msisdn.get(m.id)!)]).toEqual([m.id, false]);
      expect([m.id, answers.get(m.id)]).toEqual([m.id, 200]);
    }
    for (const m of delivered) {
      expect([m.id, sent.has(msisdn.get(m.id)!)]).toEqual([m.id, true]);
      expect([m.id, answers.get(m.id)]).toEqual([m.id, 406]);
    }
    // Released or not, a cancelled message was never queued twice, and both outcomes occurred.
    expect(released.released).toBeLessThanOrEqual(n);
    expect(cancelled.length).toBeGreaterThan(0);
    expect(delivered.length).toBeGreaterThan(0);
  });
});
