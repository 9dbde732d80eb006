import { REPORT_SQL } from '../src/dlr/report-loader.service';
import { createTestEnv, type TestEnv } from './harness';

// The delivery reports of a batch are read with one index lookup each, even for a large batch
// and a table without statistics (a fresh deployment, autovacuum off): a hash join over the
// whole message table made each batch cost in proportion to the table.
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
            values: [batch, batch.map(() => 2)],
          });
          const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
          expect({ n, mode, plan }).toEqual({ n, mode, plan: expect.stringContaining('Index Scan using message_pkey') });
          expect(plan).not.toMatch(/Seq Scan on (message|callback)/);
          await client.query('DEALLOCATE ALL');
        } finally {
          client.release();
        }
      }
    }
  });
});
