import { TestEnv, type TestScheduler } from './harness';

// Planner statistics with autovacuum off: the scheduler analyses a hot table once it has changed
// by more than autovacuum's threshold, and leaves it alone otherwise (or when autovacuum is on).
jest.setTimeout(60_000);

describe('scheduler: statistics of the hot tables', () => {
  let t: TestEnv;
  let s: TestScheduler;

  beforeAll(async () => {
    t = await TestEnv.create();
    s = await t.startScheduler();
  });

  afterAll(async () => {
    await t?.close();
  });

  const lastAnalyze = async (table: string) =>
    (await t.pool.query<{ at: Date | null }>('SELECT last_analyze AS at FROM pg_stat_user_tables WHERE relname = $1', [table])).rows[0]?.at ?? null;
  // The statistics of a transaction reach pg_stat_user_tables within a second or so.
  const waitForCounts = async (table: string, atLeast: number) => {
    for (let i = 0; i < 100; i++) {
      const { rows } = await t.pool.query<{ n: string }>('SELECT n_mod_since_analyze::text AS n FROM pg_stat_user_tables WHERE relname = $1', [table]);
      if (Number(rows[0]?.n ?? 0) >= atLeast) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${table}: changes not counted`);
  };

  it('analyses the partition of message that has grown, only with autovacuum off, and not again while unchanged', async () => {
    const { rows: [av] } = await t.pool.query<{ on: boolean }>(`SELECT current_setting('autovacuum') = 'on' AS on`);
    const p = await t.createPartner();
    const [id] = await t.store(p, 3000);
    // message is partitioned by id: its changes are counted (and analysed) in the partition of this hour's ids.
    const { rows: [where] } = await t.pool.query<{ name: string }>('SELECT tableoid::regclass::text AS name FROM message WHERE id = $1', [id]);
    const partition = where!.name;
    expect(partition).toMatch(/^message_p\d{8}$/);
    await waitForCounts(partition, 3000);
    const analysed = await s.analyze.analyzeStale();
    if (av!.on) {
      // Autovacuum's job: nothing here.
      expect(analysed).toEqual([]);
      return;
    }
    expect(analysed).toContain(partition);
    expect(await lastAnalyze(partition)).not.toBeNull();
    const { rows: [stats] } = await t.pool.query<{ n: number }>(`SELECT reltuples::int AS n FROM pg_class WHERE relname = $1`, [partition]);
    expect(stats!.n).toBeGreaterThanOrEqual(3000);
    // Unchanged since: not analysed again.
    expect(await s.analyze.analyzeStale()).not.toContain(partition);
  });

  it('analyses the partitions of callback_attempt, each on its own', async () => {
    const { rows: [av] } = await t.pool.query<{ on: boolean }>(`SELECT current_setting('autovacuum') = 'on' AS on`);
    if (av!.on) return; // autovacuum's job
    await t.pool.query(
      `INSERT INTO callback_attempt (kind, partner_id, message_id, status, attempt, attempted_at, url, http_status, duration_ms)
       SELECT 'dlr', 1, g, 2, 1, now(), 'https://partner.example/dlr', 200, 10 FROM generate_series(1, 3000) g`,
    );
    // Today's attempts are in the partition the migration made of the table as it was.
    await waitForCounts('callback_attempt_before', 3000);
    expect(await s.analyze.analyzeStale()).toContain('callback_attempt_before');
    expect(await lastAnalyze('callback_attempt_before')).not.toBeNull();
  });
});
