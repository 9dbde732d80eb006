import { bullPriority, dlrJobId, QUEUES } from '@smsgw/contracts';
import { messageIdFloor } from '@smsgw/db';
import { nextWindowOpening } from '@smsgw/sms';
import { eventually, ManualClock, TestEnv, type TestScheduler } from './harness';

// Release of postponed and windowed messages against real PostgreSQL and Redis, with a clock the
// test moves. Rows are stored as the ingress stores them: release_at is the send time, or the
// window's next opening computed with nextWindowOpening in the window's zone.
jest.setTimeout(30_000);

const ms = (iso: string) => new Date(iso).getTime();
const before = (iso: string) => new Date(ms(iso) - 1);

describe('scheduler: release', () => {
  let t: TestEnv;
  let s: TestScheduler;
  const clock = new ManualClock(new Date('2026-12-01T00:00:00Z'));

  beforeAll(async () => {
    t = await TestEnv.create();
    s = await t.startScheduler({}, clock);
  });

  afterAll(async () => {
    await t?.close();
  });

  /** Stores windowed messages received at `receivedAt` with `sending_time=<start>_<end>` in `zone`. */
  async function storeWindowed(partnerId: number, receivedAt: string, start: number, end: number, zone: string, validityMinutes = 2880) {
    const received = new Date(receivedAt);
    const opening = nextWindowOpening(received, start, end, zone);
    expect(opening.getTime()).toBeGreaterThan(received.getTime()); // closed when received: stored, not queued
    const [id] = await t.store(partnerId, 1, {
      releaseAt: opening,
      windowStart: start,
      windowEnd: end,
      windowZone: zone,
      createdAt: received,
      validUntil: new Date(opening.getTime() + validityMinutes * 60_000),
    });
    return { id: id!, opening };
  }

  it('queues a postponed message at its time, once, in a batch job of its priority as the ingress does', async () => {
    const p = await t.createPartner();
    const [normal] = await t.store(p, 1, { releaseAt: new Date('2026-12-01T09:30:00Z'), validUntil: new Date('2026-12-02T09:30:00Z') });
    const [high] = await t.store(p, 1, { releaseAt: new Date('2026-12-01T09:30:00Z'), validUntil: new Date('2026-12-02T09:30:00Z'), priority: 2 });

    expect(await s.release.releaseDue(before('2026-12-01T09:30:00Z'))).toEqual({ released: 0, rescheduled: 0, expired: 0 });
    expect(await t.dispatchJobOf(normal!)).toBeNull();

    const at = new Date('2026-12-01T09:30:00Z');
    expect(await s.release.releaseDue(at)).toEqual({ released: 2, rescheduled: 0, expired: 0 });
    const job = await t.dispatchJobOf(normal!);
    expect(job).toEqual({ data: { messageId: normal, partnerId: p, priority: 1 }, priority: bullPriority(1) });
    expect((await t.dispatchJobOf(high!))?.priority).toBe(bullPriority(2));
    const row = await t.message(normal!);
    expect([row.status, row.release_at, row.released_at]).toEqual([1, null, at]);

    // Released rows leave the due scan: a second run finds nothing and adds nothing.
    expect(await s.release.releaseDue(new Date('2026-12-01T09:31:00Z'))).toEqual({ released: 0, rescheduled: 0, expired: 0 });
    expect(await t.jobCount('dispatch')).toBe(2);
  });

  it('opens a window across midnight at the right local time, and holds a late message until it opens again', async () => {
    const p = await t.createPartner();
    // Yekaterinburg is UTC+5. sending_time=22_06, received at 07:00 local: opens 22:00 local = 17:00 UTC.
    const onTime = await storeWindowed(p, '2026-12-01T02:00:00Z', 22, 6, 'Asia/Yekaterinburg');
    expect(onTime.opening.toISOString()).toBe('2026-12-01T17:00:00.000Z');
    // Two more, released late: one while the window is still open (02:00 local), one after it closed (06:30 local).
    const lateOpen = await storeWindowed(p, '2026-11-30T02:00:00Z', 22, 6, 'Asia/Yekaterinburg');
    const lateClosed = await storeWindowed(p, '2026-11-29T02:00:00Z', 22, 6, 'Asia/Yekaterinburg');
    await t.pool.query('UPDATE message SET valid_until = $2 WHERE id = ANY($1::bigint[])', [[lateOpen.id, lateClosed.id], new Date('2026-12-05T00:00:00Z')]);

    // 2026-11-30 01:30 UTC = 06:30 local: the closed one (due since the 29th, 17:00 UTC) waits for 22:00 local.
    expect(await s.release.releaseDue(new Date('2026-11-30T01:30:00Z'))).toEqual({ released: 0, rescheduled: 1, expired: 0 });
    expect((await t.message(lateClosed.id)).release_at).toEqual(new Date('2026-11-30T17:00:00Z'));
    expect(await t.dispatchJobOf(lateClosed.id)).toBeNull();

    // 2026-11-30 21:00 UTC = 02:00 local on Dec 1st: inside 22..06 across midnight; both due ones go.
    expect(await s.release.releaseDue(new Date('2026-11-30T21:00:00Z'))).toEqual({ released: 2, rescheduled: 0, expired: 0 });
    expect(await t.dispatchJobOf(lateOpen.id)).not.toBeNull();
    expect(await t.dispatchJobOf(lateClosed.id)).not.toBeNull();

    // The one on time: not a millisecond early.
    expect((await s.release.releaseDue(before('2026-12-01T17:00:00Z'))).released).toBe(0);
    expect((await s.release.releaseDue(new Date('2026-12-01T17:00:00Z'))).released).toBe(1);
    expect(await t.dispatchJobOf(onTime.id)).not.toBeNull();
  });

  it('follows daylight-saving changes of the window zone', async () => {
    const p = await t.createPartner();
    // Berlin, 2027-03-28: clocks go from 02:00 to 03:00. sending_time=02_04 received the evening
    // before opens at the first instant after the gap: 03:00 CEST = 01:00 UTC.
    const spring = await storeWindowed(p, '2027-03-27T22:00:00Z', 2, 4, 'Europe/Berlin');
    expect(spring.opening.toISOString()).toBe('2027-03-28T01:00:00.000Z');
    // The day before, 02:00 local was still 01:00 UTC (CET): the same local hour, an hour apart in UTC.
    const winter = await storeWindowed(p, '2027-03-26T22:00:00Z', 2, 4, 'Europe/Berlin');
    expect(winter.opening.toISOString()).toBe('2027-03-27T01:00:00.000Z');
    // New York, 2026-11-01: 02:00 EDT becomes 01:00 EST. sending_time=01_03 opens at the first 01:00 (EDT) = 05:00 UTC.
    const autumn = await storeWindowed(p, '2026-11-01T00:00:00Z', 1, 3, 'America/New_York');
    expect(autumn.opening.toISOString()).toBe('2026-11-01T05:00:00.000Z');

    for (const m of [autumn, winter, spring]) {
      const early = await s.release.releaseDue(new Date(m.opening.getTime() - 1));
      expect(early).toEqual({ released: 0, rescheduled: 0, expired: 0 });
      expect(await t.dispatchJobOf(m.id)).toBeNull();
      expect(await s.release.releaseDue(m.opening)).toEqual({ released: 1, rescheduled: 0, expired: 0 });
      expect(await t.dispatchJobOf(m.id)).not.toBeNull();
    }

    // Found late, after the spring window closed (05:00 CEST): it waits for 02:00 CEST the next day.
    const late = await storeWindowed(p, '2027-03-27T22:00:00Z', 2, 4, 'Europe/Berlin');
    expect((await s.release.releaseDue(new Date('2027-03-28T03:00:00Z'))).rescheduled).toBe(1);
    expect((await t.message(late.id)).release_at).toEqual(new Date('2027-03-29T00:00:00Z'));
  });

  it('ends a message whose validity ran out before its time: 5 / 16 and its report', async () => {
    const withUrl = await t.createPartner({ status_url: 'http://127.0.0.1:9/dlr' });
    const without = await t.createPartner();
    const [a] = await t.store(withUrl, 1, { releaseAt: new Date('2026-12-03T09:00:00Z'), validUntil: new Date('2026-12-03T09:30:00Z') });
    const [b] = await t.store(without, 1, { releaseAt: new Date('2026-12-03T09:00:00Z'), validUntil: new Date('2026-12-03T09:30:00Z') });
    // sending_time=10_12 Moscow (07:00-09:00 UTC) received at 08:00 Moscow with a 10-hour validity.
    const w = await storeWindowed(withUrl, '2026-12-03T05:00:00Z', 10, 12, 'Europe/Moscow', 600);

    // The scheduler comes back at 13:00 Moscow: a and b are past their validity; w's window closed
    // and opens again tomorrow, after its validity: it waits until valid_until, and expires then.
    const now = new Date('2026-12-03T10:00:00Z');
    expect(await s.release.releaseDue(now)).toEqual({ released: 0, rescheduled: 1, expired: 2 });
    expect((await t.messages([a!, b!])).map((m) => [m.status, m.ext_status, m.done_at])).toEqual([
      [5, 16, now],
      [5, 16, now],
    ]);
    expect(await t.job('dlr', dlrJobId(a!, 5))).toEqual({ data: { messageId: a, partnerId: withUrl, status: 5 }, priority: 0 });
    expect(await t.hasJob(QUEUES.CALLBACK_DLR, dlrJobId(b!, 5))).toBe(false);
    expect(await t.dispatchJobOf(a!)).toBeNull();

    expect((await t.message(w.id)).release_at).toEqual(new Date('2026-12-03T17:00:00Z'));
    expect((await s.release.releaseDue(before('2026-12-03T17:00:00Z'))).expired).toBe(0);
    expect((await s.release.releaseDue(new Date('2026-12-03T17:00:00Z'))).expired).toBe(1);
    expect((await t.message(w.id)).status).toBe(5);
    expect(await t.hasJob(QUEUES.CALLBACK_DLR, dlrJobId(w.id, 5))).toBe(true);
  });

  it('two schedulers release one backlog: each message once', async () => {
    const p = await t.createPartner();
    const due = new Date('2026-12-10T08:00:00Z');
    const ids = await t.store(p, 6000, { releaseAt: due, validUntil: new Date('2026-12-11T08:00:00Z') });
    const small = { SCHEDULER_RELEASE_BATCH: '250', SCHEDULER_RELEASE_CONCURRENCY: '3' };
    const a = await t.startScheduler(small, clock);
    const b = await t.startScheduler(small, clock);
    const dispatchBefore = await t.jobCount('dispatch');

    const [ra, rb] = await Promise.all([a.release.releaseDue(due), b.release.releaseDue(due)]);
    // A row released twice would count twice: the totals add up to the backlog exactly.
    expect(ra.released + rb.released).toBe(6000);
    expect(ra.released).toBeGreaterThan(0);
    expect(rb.released).toBeGreaterThan(0);
    const { rows } = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM message WHERE id = ANY($1::bigint[]) AND released_at = $2 AND release_at IS NULL', [ids, due]);
    expect(rows[0]!.n).toBe(6000);
    // Each in one batch job (one per release batch of up to 250 here, not one per message), none twice.
    const queued = await t.queuedForDispatch();
    expect(ids.filter((id) => queued.get(id)?.jobs !== 1)).toEqual([]);
    expect((await t.jobCount('dispatch')) - dispatchBefore).toBeLessThan(100);
    await a.close();
    await b.close();
  });

  it('stops between batches on shutdown: a row is released only together with its job', async () => {
    const p = await t.createPartner();
    const ids = await t.store(p, 20_000, { releaseAt: new Date(Date.now() - 1000), validUntil: new Date(Date.now() + 86_400_000) });
    const running = await t.startScheduler({ SCHEDULER_TASKS: 'release', SCHEDULER_RELEASE_BATCH: '500', SCHEDULER_RELEASE_CONCURRENCY: '2' });
    await eventually(async () => expect(running.release.totals.released).toBeGreaterThan(0), 10_000);
    const started = Date.now();
    await running.close();
    expect(Date.now() - started).toBeLessThan(5000);
    const { rows } = await t.pool.query<{ id: string }>('SELECT id::text FROM message WHERE id = ANY($1::bigint[]) AND released_at IS NOT NULL', [ids]);
    expect(rows.length).toBe(running.release.totals.released);
    expect(rows.length).toBeLessThan(ids.length);
    const queued = await t.queuedForDispatch();
    expect(rows.filter((r) => !queued.has(r.id))).toEqual([]);
    await t.pool.query('UPDATE message SET status = 8 WHERE id = ANY($1::bigint[])', [ids]);
  });

  it('claims due rows of two partitions in one batch, and only them: a ctid repeats in every partition', async () => {
    const p = await t.createPartner();
    // Two weeks the migration made ahead and nothing else wrote in: the first row of each is at
    // the same ctid (0,1), the second at (0,2).
    const week = (n: number) => BigInt(messageIdFloor(Date.now() + n * 7 * 86_400_000));
    const [a, b] = [week(2), week(3)];
    const validUntil = new Date('2027-12-31T00:00:00Z');
    const due = { releaseAt: new Date('2026-12-01T00:00:00Z'), validUntil };
    const later = { releaseAt: new Date('2027-06-01T00:00:00Z'), validUntil };
    const [dueA] = await t.storeWithIds([String(a + 1n)], p, due);
    const [laterA] = await t.storeWithIds([String(a + 2n)], p, later);
    const [laterB] = await t.storeWithIds([String(b + 1n)], p, later);
    const [dueB] = await t.storeWithIds([String(b + 2n)], p, due);
    const { rows: places } = await t.pool.query<{ id: string; part: string; tid: string }>(
      'SELECT id::text, tableoid::regclass::text AS part, ctid::text AS tid FROM message WHERE id = ANY($1::bigint[]) ORDER BY id',
      [[dueA, laterA, laterB, dueB]],
    );
    expect(new Set(places.map((r) => r.part)).size).toBe(2);
    expect(places.map((r) => r.tid)).toEqual(['(0,1)', '(0,2)', '(0,1)', '(0,2)']);

    const at = new Date('2026-12-02T00:00:00Z');
    await s.release.releaseDue(at);
    const rows = await t.messages([dueA!, laterA!, laterB!, dueB!]);
    expect(rows.map((r) => [r.id, r.release_at, r.released_at])).toEqual([
      [dueA, null, at],
      [laterA, later.releaseAt, null],
      [laterB, later.releaseAt, null],
      [dueB, null, at],
    ]);
    expect((await t.dispatchJobOf(dueA!))?.data).toEqual({ messageId: dueA, partnerId: p, priority: 1 });
    expect((await t.dispatchJobOf(dueB!))?.data).toEqual({ messageId: dueB, partnerId: p, priority: 1 });
    expect(await t.dispatchJobOf(laterB!)).toBeNull();
    await t.pool.query('UPDATE message SET status = 8 WHERE id = ANY($1::bigint[])', [[dueA, laterA, laterB, dueB]]);
  });

  it('serves /health and the due backlog on /metrics', async () => {
    const p = await t.createPartner();
    clock.set('2026-12-20T00:00:00Z');
    await t.store(p, 3, { releaseAt: new Date('2026-12-19T23:59:00Z'), validUntil: new Date('2026-12-21T00:00:00Z') });
    const health = await fetch(`http://127.0.0.1:${s.httpPort}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok' });
    const metrics = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^smsgw_scheduler_due_backlog 3$/m);
    expect(metrics).toMatch(/^smsgw_scheduler_due_oldest_seconds 60$/m);
    expect(metrics).toMatch(/^smsgw_scheduler_released_total \d+$/m);
  });
});
