import { metricsRegistry } from '@smsgw/common';
import { TestEnv, type TestScheduler } from './harness';

// callback_attempt is partitioned by day (UTC): the scheduler creates the days ahead and drops
// the days older than RETENTION_CALLBACK_ATTEMPTS_DAYS, whole partitions; the statistics stay.
jest.setTimeout(60_000);

const DAY = 86_400_000;
const day = (t: number) => new Date(Math.floor(t / DAY) * DAY);
const suffix = (t: number) => day(t).toISOString().slice(0, 10).replace(/-/g, '');

describe('scheduler: partitions of callback_attempt', () => {
  let t: TestEnv;
  let s: TestScheduler;
  const now = Date.now();

  beforeAll(async () => {
    t = await TestEnv.create();
    s = await t.startScheduler({ SCHEDULER_PARTITIONS_AHEAD_DAYS: '3', RETENTION_CALLBACK_ATTEMPTS_DAYS: '30' });
  });

  afterAll(async () => {
    await t?.close();
  });

  const partitions = async () =>
    (
      await t.pool.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'callback_attempt'::regclass ORDER BY c.relname`,
      )
    ).rows.map((r) => r.name);
  const attempt = (at: Date, messageId: number) =>
    t.pool.query(
      `INSERT INTO callback_attempt (kind, partner_id, message_id, status, attempt, attempted_at, url, http_status, duration_ms)
       VALUES ('dlr', 1, $1, 2, 1, $2, 'https://partner.example/dlr', 200, 12)`,
      [messageId, at],
    );
  const messageIds = async () => (await t.pool.query<{ id: string }>('SELECT message_id::text AS id FROM callback_attempt ORDER BY message_id')).rows.map((r) => Number(r.id));
  const aheadSeconds = async () => {
    const m = await metricsRegistry.getSingleMetric('smsgw_scheduler_partitions_ahead_seconds')!.get();
    return m.values.find((v) => v.labels.table === 'callback_attempt')?.value;
  };

  it('is partitioned from the migration on: the rows from before in one partition, then a day each', async () => {
    const { rows: [kind] } = await t.pool.query<{ k: string }>(`SELECT relkind::text AS k FROM pg_class WHERE relname = 'callback_attempt'`);
    expect(kind!.k).toBe('p');
    const names = await partitions();
    expect(names).toContain('callback_attempt_before');
    expect(names).toContain(`callback_attempt_p${suffix(now + 14 * DAY)}`);
    // An attempt of today and one of long ago both go in; the key is (id, attempted_at).
    await attempt(new Date(now), 1);
    await attempt(new Date(now - 400 * DAY), 2);
    expect(await messageIds()).toEqual([1, 2]);
  });

  it('creates the days ahead it is missing, and nothing when none is', async () => {
    // Run as of 20 days from now: the migration's 14 days do not reach 20 + 3.
    const later = now + 20 * DAY;
    const first = await s.partitions.maintain(new Date(later));
    expect(first.created[first.created.length - 1]).toBe(`callback_attempt_p${suffix(later + 3 * DAY)}`);
    expect(first.created).toContain(`callback_attempt_p${suffix(later)}`);
    expect(first.dropped).toEqual([]);
    // The gauge counts from the scrape's time, not the run's: the end of the last day made, from now.
    expect(Math.abs((await aheadSeconds())! - (day(later).getTime() + 4 * DAY - Date.now()) / 1000)).toBeLessThan(5);
    expect(await s.partitions.maintain(new Date(later))).toEqual({ created: [], dropped: [] });
    // A row beyond the last day cannot be stored: the task must keep ahead.
    await expect(attempt(new Date(later + 10 * DAY), 3)).rejects.toThrow(/no partition of relation "callback_attempt"/);
  });

  it('drops whole days older than the retention, and keeps the statistics', async () => {
    await attempt(new Date(now + 5 * DAY), 4);
    await attempt(new Date(now + 20 * DAY), 5);
    const { rows: [p] } = await t.pool.query<{ id: number }>(`INSERT INTO partner (login, api_password_hash) VALUES ('stats', 'x') RETURNING id`);
    await t.pool.query(`INSERT INTO message_stat (partner_id, hour, sender, test, status, messages, segments) VALUES ($1, $2, 'INFO', false, 2, 7, 7)`, [p!.id, new Date(now - 400 * DAY)]);

    // 36 days on: with 30 days kept, everything up to day now + 6 goes.
    const run = await s.partitions.maintain(new Date(now + 36 * DAY));
    expect(run.dropped).toContain('callback_attempt_before');
    expect(run.dropped).toContain(`callback_attempt_p${suffix(now + 5 * DAY)}`);
    expect(run.dropped).not.toContain(`callback_attempt_p${suffix(now + 6 * DAY)}`);
    const names = await partitions();
    expect(names).not.toContain('callback_attempt_before');
    expect(names).toContain(`callback_attempt_p${suffix(now + 6 * DAY)}`);
    expect(await messageIds()).toEqual([5]);
    const { rows: [kept] } = await t.pool.query<{ n: string }>(`SELECT sum(messages)::text AS n FROM message_stat WHERE partner_id = $1`, [p!.id]);
    expect(kept!.n).toBe('7');
  });

  it('keeps everything with a retention of 0', async () => {
    const keep = await t.startScheduler({ SCHEDULER_PARTITIONS_AHEAD_DAYS: '3', RETENTION_CALLBACK_ATTEMPTS_DAYS: '0' });
    const before = await partitions();
    const run = await keep.partitions.maintain(new Date(now + 400 * DAY));
    expect(run.dropped).toEqual([]);
    expect((await partitions()).filter((n) => before.includes(n))).toEqual(before);
    await keep.close();
  });
});
