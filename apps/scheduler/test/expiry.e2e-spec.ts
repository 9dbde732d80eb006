import { dlrJobId, QUEUES } from '@smsgw/contracts';
import { ManualClock, TestEnv, type TestScheduler } from './harness';

// Expiry of held messages (status 1) whose validity ran out before they were handed over:
// 5 / 16 and their delivery report (PROTOCOL §4, §5). Messages already handed over (status 0)
// are the connector's: its receipt deadline ends them (5 / 1, later 5 / 2) after valid_until + grace.
jest.setTimeout(30_000);

describe('scheduler: expiry', () => {
  let t: TestEnv;
  let s: TestScheduler;
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    t = await TestEnv.create();
    s = await t.startScheduler({}, clock);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('ends held messages past their validity with 5 / 16 and a report, found by the sweep', async () => {
    const withUrl = await t.createPartner({ status_url: 'http://127.0.0.1:9/dlr' });
    const noUrl = await t.createPartner();
    const created = new Date('2027-05-01T10:00:00Z');
    const validUntil = new Date('2027-05-01T11:00:00Z');
    // Never queued; queued but the connector is behind; released by the scheduler; another partner's.
    const [lost] = await t.store(withUrl, 1, { createdAt: created, validUntil });
    const [queued] = await t.store(withUrl, 1, { createdAt: created, validUntil });
    await t.enqueue(withUrl, [queued!]);
    const [released] = await t.store(withUrl, 1, { createdAt: created, validUntil, releasedAt: created });
    const [other] = await t.store(noUrl, 1, { createdAt: created, validUntil });
    // Handed over, waiting for its receipt: not the scheduler's.
    const [handedOver] = await t.store(withUrl, 1, { createdAt: created, validUntil, status: 0, submittedAt: created });
    // Valid for one more millisecond.
    const [fresh] = await t.store(withUrl, 1, { createdAt: created, validUntil: new Date(validUntil.getTime() + 1) });

    const r = await s.sweep.sweepAll(validUntil);
    expect(r.dispatch.expired).toBe(4);
    const rows = await t.messages([lost!, queued!, released!, other!, handedOver!, fresh!]);
    expect(rows.map((m) => [m.id, m.status, m.ext_status, m.done_at])).toEqual([
      [lost, 5, 16, validUntil],
      [queued, 5, 16, validUntil],
      [released, 5, 16, validUntil],
      [other, 5, 16, validUntil],
      [handedOver, 0, null, null],
      [fresh, 1, null, null],
    ]);
    for (const id of [lost!, queued!, released!]) {
      expect(await t.job('dlr', dlrJobId(id, 5))).toEqual({ data: { messageId: id, partnerId: withUrl, status: 5 }, priority: 0 });
    }
    expect(await t.hasJob(QUEUES.CALLBACK_DLR, dlrJobId(other!, 5))).toBe(false);

    // Expired once: a second pass changes nothing.
    expect((await s.sweep.sweepAll(new Date(validUntil.getTime() + 1000))).dispatch.expired).toBe(1); // fresh, now
    expect((await s.sweep.sweepAll(new Date(validUntil.getTime() + 2000))).dispatch.expired).toBe(0);
    expect(await t.jobCount('dlr')).toBe(4);
  });
});
