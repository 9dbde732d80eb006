import { createTestEnv, startPartnerServer, waitFor, type TestEnv } from './harness';
jest.setTimeout(300_000);
const N = Number(process.env.DRAIN_N ?? 3000);
const MODE = process.env.DRAIN_MODE ?? 'subscriber';
describe('drain', () => {
  let t: TestEnv;
  beforeAll(async () => { t = await createTestEnv(); });
  afterAll(async () => { await t?.close(); });
  it('drains', async () => {
    const server = await startPartnerServer(() => ({ status: 204, delayMs: Number(process.env.DRAIN_DELAY ?? 5) }));
    const partnerId = await t.createPartner({ mo_url: server.url('/mo') });
    await t.updatePartner(partnerId, `mo_order = '${MODE}', callback_concurrency = 32`);
    const { rows } = await t.pool.query<{ id: string }>(
      `INSERT INTO mo_message (partner_id, msisdn, service_number, text, segments, received_at)
       SELECT $1, '7903' || lpad((g % 500)::text, 7, '0'), '4545', 'm ' || g, 1, now() - interval '1 minute' + g * interval '1 ms' FROM generate_series(1, $2) g RETURNING id::text`, [partnerId, N]);
    await t.enqueueMo(partnerId, rows.map((r) => r.id));
    const w = await t.startWorker({ CALLBACK_MO_CONCURRENCY: '256', CALLBACK_DB_POOL: '8', CALLBACK_TIMEOUT_MS: '10000', LOG_LEVEL: 'warn' });
    const started = Date.now();
    const samples: number[] = [];
    const timer = setInterval(() => samples.push(server.inFlight), 5);
    await waitFor('all', () => server.received.length >= N, 120_000, 10);
    clearInterval(timer);
    const took = Date.now() - started;
    const avg = samples.reduce((a, b) => a + b, 0) / samples.length;
    console.log(`drained ${N} in ${took} ms: ${Math.round(N / (took / 1000))} MO/s, in flight avg ${avg.toFixed(1)} max ${server.maxInFlight}`);
    await server.close();
    void w;
  });
});
