import { REPORT_SQL, reportValues } from '../src/dlr/report-loader.service';
import { createTestEnv, type TestEnv } from './harness';

// The delivery reports of a batch are read with one index lookup each, even for a large batch
// and a table without statistics (a fresh deployment, autovacuum off): a hash join over the
// whole message table made each batch cost in proportion to the table. `message` is partitioned
// by id: each lookup reads the one partition its id is in (pruned per report as it runs).
jest.setTimeout(30_000);

describe('ReportLoader query plan', () => {
  let t: TestEnv;

  beforeAll(async () => {
    t = await createTestEnv();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('looks every report up by index, whatever the batch size and the statistics', async () => {
    const partnerId = await t.createPartner();
    const ids = await t.insertMessages(partnerId, 20_000);
    for (const n of [10, 1000]) {
      for (const mode of ['force_custom_plan', 'force_generic_plan']) {
        const client = await t.pool.connect();
        try {
          await client.query(`SET plan_cache_mode = ${mode}`);
          const batch = ids.slice(0, n);
          const { rows } = await client.query<{ 'QUERY PLAN': string }>({
            name: `plan-${n}-${mode}`,
            text: `EXPLAIN (COSTS OFF) ${REPORT_SQL}`,
            values: reportValues(batch, batch.map(() => 2)),
          });
          const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
          expect({ n, mode, plan }).toEqual({ n, mode, plan: expect.stringMatching(/Index Scan using message_p\d{8}_pkey/) });
          expect(plan).not.toMatch(/Seq Scan on (message|callback)/);
          await client.query('DEALLOCATE ALL');
        } finally {
          client.release();
        }
      }
    }
  });

  it('opens only the partition of the batch\'s messages, with the generic plan too', async () => {
    const partnerId = await t.createPartner();
    const ids = await t.insertMessages(partnerId, 100);
    const { rows: where } = await t.pool.query<{ p: string }>('SELECT DISTINCT tableoid::regclass::text AS p FROM message WHERE id = ANY($1::bigint[])', [ids]);
    expect(where).toEqual([{ p: expect.stringMatching(/^message_p\d{8}$/) }]);
    const client = await t.pool.connect();
    try {
      await client.query('SET plan_cache_mode = force_generic_plan');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>({
        name: 'plan-analyze-generic',
        text: `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${REPORT_SQL}`,
        values: reportValues(ids, ids.map(() => 2)),
      });
      // The batch's id range leaves one partition to plan and open; no other is in the plan at all.
      const scans = rows.map((r) => r['QUERY PLAN']).filter((l) => / on message_(before|p\d{8}) /.test(l));
      expect(scans).toEqual([expect.stringContaining(`Index Scan using ${where[0]!.p}_pkey on ${where[0]!.p} `)]);
      await client.query('DEALLOCATE ALL');
    } finally {
      client.release();
    }
  });
});
