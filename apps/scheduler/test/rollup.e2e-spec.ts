import { TestEnv, type TestScheduler } from './harness';

// The statistics rollup against real PostgreSQL: after folding, message_stat says exactly what a
// GROUP BY over the message table says, with status changes going on while two schedulers fold.
jest.setTimeout(60_000);

interface Bucket {
  partner_id: number;
  hour: Date;
  sender: string;
  test: boolean;
  status: number;
  messages: string;
  segments: string;
}

const TRUTH_SQL = `
SELECT partner_id, date_trunc('hour', created_at, 'UTC') AS hour, sender, test, status, count(*)::text AS messages, sum(segments)::text AS segments
FROM message GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`;
const ROLLUP_SQL = `
SELECT partner_id, hour, sender, test, status, messages::text, segments::text
FROM message_stat WHERE messages <> 0 OR segments <> 0 ORDER BY 1, 2, 3, 4, 5`;

describe('scheduler: statistics rollup', () => {
  let t: TestEnv;
  let a: TestScheduler;
  let b: TestScheduler;

  beforeAll(async () => {
    t = await TestEnv.create();
    a = await t.startScheduler({ SCHEDULER_ROLLUP_BATCH: '300' });
    b = await t.startScheduler({ SCHEDULER_ROLLUP_BATCH: '300' });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('matches the message table exactly, folded by two schedulers while messages change', async () => {
    const p1 = await t.createPartner();
    const p2 = await t.createPartner();
    const ids: string[] = [];
    const hours = ['2027-06-01T08:15:00Z', '2027-06-01T09:45:00Z', '2027-06-02T23:59:59.999Z'];
    for (const [i, h] of hours.entries()) {
      ids.push(...(await t.store(p1, 400, { createdAt: new Date(h), sender: 'ALPHA' })));
      ids.push(...(await t.store(p1, 150, { createdAt: new Date(h), sender: 'BETA', text: 'y'.repeat(200) }))); // 2 segments
      ids.push(...(await t.store(p2, 100 + i, { createdAt: new Date(h), sender: 'ALPHA', test: true, text: 'Привет' }))); // UCS-2
    }
    const pick = (k: number, r: number) => ids.filter((_, i) => i % k === r);
    const folding = (async () => {
      for (let i = 0; i < 15; i++) {
        await Promise.all([a.rollup.foldBatch(new Date()), b.rollup.foldBatch(new Date())]);
      }
    })();
    // The transitions the other components make, as single-row and multi-row updates.
    await t.pool.query('UPDATE message SET status = 0 WHERE id = ANY($1::bigint[])', [pick(2, 0)]); // claimed
    await t.pool.query('UPDATE message SET status = 8 WHERE id = ANY($1::bigint[])', [pick(7, 1)]); // cancelled
    for (const id of pick(20, 0)) await t.pool.query('UPDATE message SET status = 2 WHERE id = $1 AND status = 0', [id]); // delivered
    await t.pool.query('UPDATE message SET status = 5, ext_status = 1 WHERE id = ANY($1::bigint[]) AND status = 0', [pick(6, 2)]);
    await t.pool.query('UPDATE message SET status = 1 WHERE id = ANY($1::bigint[]) AND status = 0', [pick(8, 4)]); // claim given back
    await t.pool.query('UPDATE message SET status = 5, ext_status = 16 WHERE id = ANY($1::bigint[]) AND status = 1', [pick(9, 3)]); // expired
    await t.pool.query('UPDATE message SET release_at = NULL, released_at = now() WHERE id = ANY($1::bigint[])', [pick(3, 0)]); // no status change
    await folding;
    await Promise.all([a.rollup.foldAll(new Date()), b.rollup.foldAll(new Date())]);

    const truth = (await t.pool.query<Bucket>(TRUTH_SQL)).rows;
    expect(truth.length).toBeGreaterThan(20);
    expect((await t.pool.query<Bucket>(ROLLUP_SQL)).rows).toEqual(truth);
    expect((await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM message_stat_delta')).rows[0]!.n).toBe(0);
  });

  it('logs a batched status change as one row per bucket, and watches a report for every message in it', async () => {
    const p = await t.createPartner({ status_url: 'http://partner.example/dlr' });
    const ids = await t.store(p, 300, { createdAt: new Date('2027-08-01T10:00:00Z'), sender: 'BATCH' });
    await a.rollup.foldAll(new Date());
    await t.pool.query('UPDATE message SET status = 0 WHERE id = ANY($1::bigint[])', [ids]);
    await t.pool.query('UPDATE message SET status = 2 WHERE id = ANY($1::bigint[]) AND status = 0', [ids.slice(0, 200)]);
    await t.pool.query('UPDATE message SET status = 5, ext_status = 1 WHERE id = ANY($1::bigint[]) AND status = 0', [ids.slice(200)]);
    const log = await t.pool.query<{ old_status: number; new_status: number; messages: number; ids: number }>(
      `SELECT old_status, new_status, messages, cardinality(message_ids) AS ids FROM message_stat_delta WHERE partner_id = $1 ORDER BY new_status`,
      [p],
    );
    expect(log.rows).toEqual([
      { old_status: 1, new_status: 0, messages: 300, ids: 300 },
      { old_status: 0, new_status: 2, messages: 200, ids: 200 },
      { old_status: 0, new_status: 5, messages: 100, ids: 100 },
    ]);
    await a.rollup.foldAll(new Date());
    const watched = await t.pool.query<{ status: number; n: number; rows: number }>(
      'SELECT status, sum(cardinality(message_ids))::int AS n, count(*)::int AS "rows" FROM dlr_watch WHERE partner_id = $1 GROUP BY status ORDER BY status',
      [p],
    );
    // Final statuses only (the partner has no intermediate reports), one watch row each.
    expect(watched.rows).toEqual([
      { status: 2, n: 200, rows: 1 },
      { status: 5, n: 100, rows: 1 },
    ]);
  });

  it('gives the days of any time zone as sums of UTC hours', async () => {
    const p = await t.createPartner();
    // 23:30 and 00:30 in Moscow (UTC+3): one day in UTC, two days in Moscow.
    await t.store(p, 1, { createdAt: new Date('2027-07-01T20:30:00Z'), sender: 'DAYS' });
    await t.store(p, 1, { createdAt: new Date('2027-07-01T21:30:00Z'), sender: 'DAYS' });
    await a.rollup.foldAll(new Date());
    const daily = async (zone: string) =>
      (
        await t.pool.query<{ day: string; messages: string }>(
          `SELECT to_char((hour AT TIME ZONE $2)::date, 'YYYY-MM-DD') AS day, sum(messages)::text AS messages
           FROM message_stat WHERE partner_id = $1 GROUP BY 1 ORDER BY 1`,
          [p, zone],
        )
      ).rows;
    expect(await daily('UTC')).toEqual([{ day: '2027-07-01', messages: '2' }]);
    expect(await daily('Europe/Moscow')).toEqual([
      { day: '2027-07-01', messages: '1' },
      { day: '2027-07-02', messages: '1' },
    ]);
  });
});
