import { metricsRegistry } from '@smsgw/common';
import { messageIdFloor } from '@smsgw/db';
import { TestEnv, type TestScheduler } from './harness';

// callback_attempt is partitioned by day (UTC): the scheduler creates the days ahead and drops
// the days older than RETENTION_CALLBACK_ATTEMPTS_DAYS, whole partitions; the statistics stay.
jest.setTimeout(60_000);

const DAY = 86_400_000;
const day = (t: number) => new Date(Math.floor(t / DAY) * DAY);
const suffix = (t: number) => day(t).toISOString().slice(0, 10).replace(/-/g, '');
const gauge = async (table: string) => {
  const m = await metricsRegistry.getSingleMetric('smsgw_scheduler_partitions_ahead_seconds')!.get();
  return m.values.find((v) => v.labels.table === table)?.value;
};

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
  const aheadSeconds = () => gauge('callback_attempt');

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
    expect(first.created.filter((n) => n.startsWith('callback_attempt_')).pop()).toBe(`callback_attempt_p${suffix(later + 3 * DAY)}`);
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
    const keep = await t.startScheduler({ SCHEDULER_PARTITIONS_AHEAD_DAYS: '3', RETENTION_CALLBACK_ATTEMPTS_DAYS: '0', RETENTION_MESSAGES_DAYS: '0' });
    const before = await partitions();
    const run = await keep.partitions.maintain(new Date(now + 400 * DAY));
    expect(run.dropped).toEqual([]);
    expect((await partitions()).filter((n) => before.includes(n))).toEqual(before);
    await keep.close();
  });
});

// message and message_part are partitioned by RANGE of the message id (which carries its hour),
// a week each (SCHEDULER_MESSAGE_PARTITION_DAYS) counted from 1970-01-01, in the same bounds; the
// messages older than RETENTION_MESSAGES_DAYS go a partition at a time, with their keys, once the
// statistics hold every change of them.
describe('scheduler: partitions of message and message_part', () => {
  const WEEK = 7 * DAY;
  let t: TestEnv;
  let partner: number;
  const now = Date.now();
  // The week of now, as the migration counts them; its partition is the first the migration made.
  const week0 = Math.floor(now / WEEK) * WEEK;

  beforeAll(async () => {
    t = await TestEnv.create();
    partner = await t.createPartner();
  });

  afterAll(async () => {
    await t?.close();
  });

  interface Bounds {
    name: string;
    lower: string | null;
    upper: string;
  }
  const bounds = async (table: string): Promise<Bounds[]> =>
    (
      await t.pool.query<Bounds>(
        `SELECT * FROM (SELECT c.relname AS name,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1] AS lower,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1] AS upper
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass) b ORDER BY upper::bigint`,
        [table],
      )
    ).rows;
  const names = async (table: string) => (await bounds(table)).map((b) => b.name);
  const keys = async () => (await t.pool.query<{ id: string }>('SELECT message_id::text AS id FROM message_key ORDER BY message_id')).rows.map((r) => r.id);
  /** A delivered message with its key and one segment, in the partition its id falls in. */
  const message = async (id: string, key: string) => {
    await t.storeWithIds([id], partner, { status: 2 });
    await t.pool.query('INSERT INTO message_key (partner_id, partner_msg_id, message_id) VALUES ($1, $2, $3)', [partner, key, id]);
    await t.pool.query('INSERT INTO message_part (message_id, seq) VALUES ($1, 1)', [id]);
    return id;
  };
  const exists = async (ids: string[]) =>
    (await t.pool.query<{ id: string }>('SELECT id::text FROM message WHERE id = ANY($1::bigint[]) ORDER BY id', [ids])).rows.map((r) => r.id);
  const parts = async (ids: string[]) =>
    (await t.pool.query<{ id: string }>('SELECT message_id::text AS id FROM message_part WHERE message_id = ANY($1::bigint[]) ORDER BY message_id', [ids])).rows.map((r) => r.id);

  it('creates the weeks ahead for both tables, in the same bounds, from where the last one ends', async () => {
    const s = await t.startScheduler({ SCHEDULER_PARTITIONS_AHEAD_DAYS: '3', RETENTION_MESSAGES_DAYS: '0' });
    // The migration made this week and 3 more. As of 40 days on, the partitions must reach the
    // week after that day's (at least 3 days ahead, and always the next partition).
    const later = now + 40 * DAY;
    const run = await s.partitions.maintain(new Date(later));
    const made = run.created.filter((n) => n.startsWith('message'));
    expect(made).toContain(`message_p${suffix(week0 + 4 * WEEK)}`);
    expect(made).toContain(`message_part_p${suffix(week0 + 4 * WEEK)}`);
    const [messages, segments] = [await bounds('message'), await bounds('message_part')];
    // Both tables: the same partitions, by name (after the table's) and by bounds.
    expect(segments.map((b) => [b.name.replace('message_part', 'message'), b.lower, b.upper])).toEqual(messages.map((b) => [b.name, b.lower, b.upper]));
    expect(messages[0]).toEqual({ name: 'message_before', lower: null, upper: messageIdFloor(week0) });
    // Weeks from week0 on, each named after its first day, each beginning where the one before ends.
    messages.slice(1).forEach((b, i) => {
      const from = week0 + i * WEEK;
      expect(b).toEqual({ name: `message_p${suffix(from)}`, lower: messageIdFloor(from), upper: messageIdFloor(from + WEEK) });
    });
    // Made apart and attached: the parent's indexes (key, partial indexes) are built on them too.
    const indexes = async (name: string) => (await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_index WHERE indrelid = $1::regclass', [name])).rows[0]!.n;
    for (const table of ['message', 'message_part']) expect(await indexes(`${table}_p${suffix(week0 + 4 * WEEK)}`)).toBe(await indexes(`${table}_p${suffix(week0)}`));
    expect(await indexes(`message_p${suffix(week0 + 4 * WEEK)}`)).toBe(5);
    const reach = week0 + (messages.length - 1) * WEEK;
    expect(reach).toBeGreaterThan(later + WEEK);
    expect(reach - WEEK).toBeLessThanOrEqual(Math.max(later + WEEK, day(later).getTime() + 4 * DAY));
    expect(Math.abs((await gauge('message'))! - (reach - Date.now()) / 1000)).toBeLessThan(5);
    expect(Math.abs((await gauge('message_part'))! - (reach - Date.now()) / 1000)).toBeLessThan(5);
    // Nothing more to make; a message of the last week goes in, one beyond cannot be stored.
    expect(await s.partitions.maintain(new Date(later))).toEqual({ created: [], dropped: [] });
    await t.storeWithIds([String(BigInt(messageIdFloor(reach - DAY)) + 7n)], partner);
    await expect(t.storeWithIds([messageIdFloor(reach)], partner)).rejects.toThrow(/no partition of relation "message"/);
    await s.close();
  });

  it('drops message_before, then each week, once older than the retention, with their keys; not while changes are unfolded or a message is not final', async () => {
    const s = await t.startScheduler({ SCHEDULER_PARTITIONS_AHEAD_DAYS: '3', RETENTION_MESSAGES_DAYS: '30' });
    partner = await t.createPartner();
    const before = await message('1001', 'before');
    const first = await message(String(BigInt(messageIdFloor(now)) + 11n), 'first');
    const second = await message(String(BigInt(messageIdFloor(week0 + WEEK)) + 12n), 'second');
    const all = [before, first, second];
    await s.rollup.foldAll(new Date());
    const statistics = async () => (await t.pool.query<{ n: string }>('SELECT sum(messages)::text AS n FROM message_stat WHERE partner_id = $1', [partner])).rows[0]!.n;
    expect(await statistics()).toBe('3');

    // 30 days after this week began: message_before's ids (all before it) are older than that; this week's are not yet.
    const run1 = await s.partitions.maintain(new Date(week0 + 30 * DAY));
    expect(run1.dropped).toEqual(['message_before', 'message_part_before']);
    expect(await names('message')).not.toContain('message_before');
    expect(await names('message_part')).not.toContain('message_part_before');
    expect(await exists(all)).toEqual([first, second]);
    expect(await parts(all)).toEqual([first, second]);
    expect(await keys()).toEqual([first, second]);

    // 30 days after this week's end: this week goes, the next stays. Not while the change log
    // still holds a change of this week's messages (here: one of its status changes).
    const at = new Date(week0 + WEEK + 30 * DAY);
    await t.pool.query(`UPDATE message SET status = 5, ext_status = 1 WHERE id = $1`, [first]);
    const held = await s.partitions.maintain(at);
    expect(held.dropped).toEqual([]);
    expect(await exists(all)).toEqual([first, second]);
    expect(await keys()).toEqual([first, second]);
    await s.rollup.foldAll(new Date());
    // Nor while one of its messages is not final: postponed beyond the retention, then waiting
    // for its receipt. Nothing accepted is lost to the retention.
    const [postponed] = await t.storeWithIds([String(BigInt(messageIdFloor(now)) + 13n)], partner, { status: 1, releaseAt: new Date(week0 + 60 * DAY) });
    expect((await s.partitions.maintain(at)).dropped).toEqual([]);
    await t.pool.query(`UPDATE message SET status = 0, release_at = NULL WHERE id = $1`, [postponed]);
    expect((await s.partitions.maintain(at)).dropped).toEqual([]);
    expect(await exists([...all, postponed!])).toEqual([first, postponed, second]);
    await t.pool.query(`UPDATE message SET status = 2 WHERE id = $1`, [postponed]);
    await s.rollup.foldAll(new Date());
    const run2 = await s.partitions.maintain(at);
    expect(run2.dropped).toEqual([`message_p${suffix(week0)}`, `message_part_p${suffix(week0)}`]);
    expect(await names('message')).not.toContain(`message_p${suffix(week0)}`);
    expect(await names('message')).toContain(`message_p${suffix(week0 + WEEK)}`);
    expect(await exists(all)).toEqual([second]);
    expect(await parts(all)).toEqual([second]);
    expect(await keys()).toEqual([second]);
    // The statistics outlive the messages: the status change is folded in, nothing taken off.
    expect(await statistics()).toBe('4');
    const { rows: delivered } = await t.pool.query<{ n: string }>('SELECT sum(messages)::text AS n FROM message_stat WHERE partner_id = $1 AND status = 2', [partner]);
    expect(delivered[0]!.n).toBe('3');
    await s.close();
  });
});
