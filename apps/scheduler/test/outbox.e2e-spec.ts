import { dispatchJobId, dlrJobId, moJobId, QUEUES } from '@smsgw/contracts';
import { ManualClock, TestEnv, type TestScheduler } from './harness';

// The outbox sweeps against real PostgreSQL and Redis: rows whose state says a job must exist,
// and whose job is not in Redis, get it again after a grace period; a second run changes nothing.
jest.setTimeout(30_000);

const GRACE = 60_000;
const at = (base: Date, plusMs: number) => new Date(base.getTime() + plusMs);

describe('scheduler: outbox sweep', () => {
  let t: TestEnv;
  let s: TestScheduler;
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    t = await TestEnv.create();
    s = await t.startScheduler({ SCHEDULER_OUTBOX_GRACE_MS: String(GRACE), SCHEDULER_REPORT_GRACE_MS: String(GRACE), SCHEDULER_SWEEP_BATCH: '7' }, clock);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('queues again stored messages whose job never came or was lost, after the grace period, once', async () => {
    const p = await t.createPartner();
    const stored = new Date('2027-01-10T10:00:00Z');
    const validUntil = new Date('2027-01-11T10:00:00Z');
    const queued = await t.store(p, 5, { createdAt: stored, validUntil });
    await t.enqueue(p, queued);
    // Stored, answered OK, but the enqueue failed: no job.
    const lost = await t.store(p, 20, { createdAt: stored, validUntil, priority: 2 });
    // Postponed, not due yet: must not get a job.
    const [postponed] = await t.store(p, 1, { createdAt: stored, validUntil, releaseAt: new Date('2027-01-10T12:00:00Z') });

    const early = await s.sweep.sweepAll(at(stored, GRACE - 1));
    expect(early.dispatch).toEqual({ checked: 25, found: 0, expired: 0 });

    const first = await s.sweep.sweepAll(at(stored, GRACE));
    expect(first.dispatch).toEqual({ checked: 25, found: 20, expired: 0 });
    for (const id of lost) expect(await t.job('dispatch', dispatchJobId(id))).toEqual({ data: { messageId: id, partnerId: p, priority: 2 }, priority: 1 });
    expect(await t.hasJob(QUEUES.MT_DISPATCH, dispatchJobId(postponed!))).toBe(false);
    expect(await t.jobCount('dispatch')).toBe(25);

    // Twice changes nothing.
    expect((await s.sweep.sweepAll(at(stored, GRACE + 1000))).dispatch).toEqual({ checked: 25, found: 0, expired: 0 });
    expect(await t.jobCount('dispatch')).toBe(25);
    await t.queues.dispatch.obliterate({ force: true });
    await t.pool.query('UPDATE message SET status = 2 WHERE id = ANY($1::bigint[])', [[...queued, ...lost]]);
  });

  it('queues again a released message whose job Redis lost', async () => {
    const p = await t.createPartner();
    const due = new Date('2027-01-20T09:00:00Z');
    const ids = await t.store(p, 3, { releaseAt: due, validUntil: new Date('2027-01-21T09:00:00Z'), createdAt: new Date('2027-01-19T09:00:00Z') });
    expect((await s.release.releaseDue(due)).released).toBe(3);
    await t.flushRedis();

    // The grace period runs from the release, not from when the message was stored.
    expect((await s.sweep.sweepAll(at(due, GRACE - 1))).dispatch.found).toBe(0);
    expect((await s.sweep.sweepAll(at(due, GRACE))).dispatch.found).toBe(3);
    for (const id of ids) expect(await t.hasJob(QUEUES.MT_DISPATCH, dispatchJobId(id))).toBe(true);
    await t.queues.dispatch.obliterate({ force: true });
    await t.pool.query('UPDATE message SET status = 2 WHERE id = ANY($1::bigint[])', [ids]);
  });

  it('resumes a message claimed for an SMSC with segments missing whose job is gone', async () => {
    const p = await t.createPartner();
    const { rows } = await t.pool.query<{ id: number }>(`INSERT INTO smsc_connection (name, host, system_id, password) VALUES ('x', '127.0.0.1', 'a', 'b') RETURNING id`);
    const smsc = rows[0]!.id;
    const claimedAt = new Date('2027-02-01T10:00:00Z');
    const long = 'x'.repeat(300); // 2 segments
    const common = { status: 0, smscConnectionId: smsc, submittedAt: claimedAt, validUntil: new Date('2027-02-02T10:00:00Z'), text: long };
    const [half] = await t.store(p, 1, common);
    const [whole] = await t.store(p, 1, common);
    const [none] = await t.store(p, 1, common);
    const [simulated] = await t.store(p, 1, { ...common, smscConnectionId: null }); // test traffic at the simulated operator
    await t.pool.query(
      `INSERT INTO message_part (message_id, seq, smsc_connection_id, smsc_message_id) VALUES ($1, 1, $3, 'a1'), ($2, 1, $3, 'b1'), ($2, 2, $3, 'b2')`,
      [half, whole, smsc],
    );
    expect((await s.sweep.sweepAll(at(claimedAt, GRACE - 1))).resume.found).toBe(0);
    const r = await s.sweep.sweepAll(at(claimedAt, GRACE));
    expect(r.resume).toEqual({ checked: 4, found: 2, expired: 0 });
    expect(await t.hasJob(QUEUES.MT_DISPATCH, dispatchJobId(half!))).toBe(true);
    expect(await t.hasJob(QUEUES.MT_DISPATCH, dispatchJobId(none!))).toBe(true);
    expect(await t.hasJob(QUEUES.MT_DISPATCH, dispatchJobId(whole!))).toBe(false);
    expect(await t.hasJob(QUEUES.MT_DISPATCH, dispatchJobId(simulated!))).toBe(false);
    expect((await s.sweep.sweepAll(at(claimedAt, GRACE + 1))).resume.found).toBe(0);
    await t.pool.query('UPDATE message SET status = 2 WHERE id = ANY($1::bigint[])', [[half, whole, none, simulated]]);
    await s.rollup.foldAll(claimedAt);
    await t.pool.query('DELETE FROM dlr_watch');
  });

  it('queues again delivery reports whose job vanished, until the callback worker has them', async () => {
    const withUrl = await t.createPartner({ status_url: 'http://127.0.0.1:9/dlr' });
    const intermediate = await t.createPartner({ status_url: 'http://127.0.0.1:9/dlr', intermediate_reports: true });
    const noUrl = await t.createPartner();
    const [a, b, c] = await t.store(withUrl, 3);
    const [d] = await t.store(intermediate, 1);
    const [e] = await t.store(noUrl, 1);
    // The connector's transitions; its callback.dlr jobs are lost with Redis.
    await t.pool.query('UPDATE message SET status = 0 WHERE id = ANY($1::bigint[])', [[a, b, c, d, e]]);
    await t.pool.query('UPDATE message SET status = 2 WHERE id = ANY($1::bigint[])', [[a, b, d, e]]);
    await t.pool.query('UPDATE message SET status = 5, ext_status = 1 WHERE id = $1', [c]);

    const folded = new Date('2027-03-01T00:00:00Z');
    const fold = await s.rollup.foldAll(folded);
    // a, b, c (final, status URL); d's 0 (intermediate reports) and 2. Not e (no URL), not the 0s of the others.
    expect(fold.watched).toBe(5);
    // b: the callback worker pushed it already (its attempt is recorded).
    await t.pool.query(
      `INSERT INTO callback_attempt (kind, partner_id, message_id, status, attempt, attempted_at, url, http_status, duration_ms) VALUES ('dlr', $1, $2, 2, 1, now(), 'u', 200, 5)`,
      [withUrl, b],
    );
    // a: its job is still queued (the worker is slow): nothing to do.
    await t.queues.dlr.add(QUEUES.CALLBACK_DLR, { messageId: a, partnerId: withUrl, status: 2 }, { jobId: dlrJobId(a!, 2) });

    expect((await s.sweep.sweepAll(at(folded, GRACE - 1))).report).toEqual({ checked: 0, found: 0, expired: 0 });
    const first = await s.sweep.sweepAll(at(folded, GRACE));
    expect(first.report).toEqual({ checked: 5, found: 3, expired: 0 });
    expect(await t.job('dlr', dlrJobId(c!, 5))).toEqual({ data: { messageId: c, partnerId: withUrl, status: 5 }, priority: 0 });
    expect(await t.hasJob(QUEUES.CALLBACK_DLR, dlrJobId(d!, 0))).toBe(true);
    expect(await t.hasJob(QUEUES.CALLBACK_DLR, dlrJobId(d!, 2))).toBe(true);
    expect(await t.hasJob(QUEUES.CALLBACK_DLR, dlrJobId(b!, 2))).toBe(false);
    expect(await t.hasJob(QUEUES.CALLBACK_DLR, dlrJobId(e!, 2))).toBe(false);
    const { rows: watched } = await t.pool.query<{ message_id: string; status: number }>(
      'SELECT m.id::text AS message_id, w.status FROM dlr_watch w, unnest(w.message_ids) AS m(id) ORDER BY m.id, w.status',
    );
    expect(watched).toEqual([
      { message_id: a, status: 2 },
      { message_id: c, status: 5 },
      { message_id: d, status: 0 },
      { message_id: d, status: 2 },
    ]);

    // Twice changes nothing (the jobs exist; the next look is later).
    expect((await s.sweep.sweepAll(at(folded, GRACE + 1))).report).toEqual({ checked: 0, found: 0, expired: 0 });
    expect(await t.jobCount('dlr')).toBe(4);

    // Redis loses them again; the worker took c on meanwhile (it failed once: a callback row).
    await t.flushRedis();
    await t.pool.query(`INSERT INTO callback (kind, partner_id, message_id, status, due_at) VALUES ('dlr', $1, $2, 5, now())`, [withUrl, c]);
    const later = await s.sweep.sweepAll(at(folded, 3 * GRACE));
    expect(later.report).toEqual({ checked: 4, found: 3, expired: 0 });
    expect(await t.hasJob(QUEUES.CALLBACK_DLR, dlrJobId(c!, 5))).toBe(false);
    await t.pool.query('DELETE FROM dlr_watch');
  });

  it('queues again MO whose job vanished', async () => {
    const p = await t.createPartner({ mo_url: 'http://127.0.0.1:9/mo' });
    const noUrl = await t.createPartner();
    const received = new Date('2027-04-01T00:00:00Z');
    const mo = async (partnerId: number, done: boolean) => {
      const { rows } = await t.pool.query<{ id: string }>(
        `INSERT INTO mo_message (partner_id, msisdn, service_number, text, segments, received_at, callback_done_at) VALUES ($1, '79030000001', '4545', 'hi', 1, $2, $3) RETURNING id::text`,
        [partnerId, received, done ? received : null],
      );
      return rows[0]!.id;
    };
    const lost = await mo(p, false);
    const acked = await mo(p, true);
    const queued = await mo(p, false);
    const unowned = await mo(noUrl, false);
    await t.queues.mo.add(QUEUES.CALLBACK_MO, { moId: queued, partnerId: p }, { jobId: moJobId(queued) });

    expect((await s.sweep.sweepAll(at(received, GRACE - 1))).mo.found).toBe(0);
    expect((await s.sweep.sweepAll(at(received, GRACE))).mo).toEqual({ checked: 2, found: 1, expired: 0 });
    expect(await t.job('mo', moJobId(lost))).toEqual({ data: { moId: lost, partnerId: p }, priority: 0 });
    expect(await t.hasJob(QUEUES.CALLBACK_MO, moJobId(acked))).toBe(false);
    expect(await t.hasJob(QUEUES.CALLBACK_MO, moJobId(unowned))).toBe(false);
    expect((await s.sweep.sweepAll(at(received, GRACE + 1))).mo.found).toBe(0);
  });
});
