// `npm run bench:ingress`: the ingress against local PostgreSQL and Redis under keep-alive load.
// Starts its own ingress process on a bench database and Redis prefix, creates a bench partner
// with a high rate limit, drives load for BENCH_SECONDS (default 20) and prints accepted/s,
// latency percentiles, non-200 answers, and whether the stored rows equal the 200s.
// Synchronous commit stays on (the server default); nothing here changes it.
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { Pool } = require('pg');
const Redis = require('ioredis');
const autocannon = require('autocannon');
const { preflight } = require('./preflight');
const { waitForService, withDatabase } = require('./lib/services');

const root = path.resolve(__dirname, '..');
const seconds = Number(process.env.BENCH_SECONDS || 20);
const connections = Number(process.env.BENCH_CONNECTIONS || 32);
/** 0 = as fast as the ingress answers; otherwise requests per second in total. */
const rate = Number(process.env.BENCH_RATE || 0);
const port = Number(process.env.BENCH_PORT || 18080);
const adminUrl = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const benchDb = 'smsgw_bench';
const databaseUrl = withDatabase(adminUrl, benchDb);
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = 'smsgwbench';
const pepper = 'bench-pepper-0123456789';

async function main() {
  const problem = await preflight();
  if (problem) throw new Error(problem);

  // A fresh database each run, so the row check counts this run only.
  const admin = new Pool({ connectionString: withDatabase(adminUrl, 'postgres'), max: 1 });
  await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
  await admin.end();
  const mig = spawnSync('npm', ['run', '--silent', 'db:migrate'], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl }, encoding: 'utf8' });
  if (mig.status !== 0) throw new Error(`migration failed: ${mig.stderr || mig.stdout}`);

  const redis = new Redis(redisUrl);
  const stale = await redis.keys(`${prefix}:*`);
  if (stale.length) await redis.del(...stale);

  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const { hashApiPassword } = require(path.join(root, 'packages/db/dist'));
  const { rows } = await pool.query(
    `INSERT INTO partner (login, api_password_hash, allowed_ips, senders, default_sender, rate_limit)
     VALUES ('bench', $1, ARRAY['127.0.0.1/32','::1/128'], ARRAY['BENCH'], 'BENCH', 1000000) RETURNING id`,
    [hashApiPassword('bench-pass', pepper)],
  );
  const partnerId = rows[0].id;
  const sync = await pool.query('SHOW synchronous_commit');

  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=prof", profiles the ingress.
  const nodeArgs = (process.env.BENCH_NODE_ARGS || '').split(' ').filter(Boolean);
  const ingress = spawn(process.execPath, [...nodeArgs, path.join(root, 'apps/ingress-api/dist/main.js')], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, API_PASSWORD_PEPPER: pepper, INGRESS_PORT: String(port), INGRESS_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitForHealth(port);
    const text = encodeURIComponent('Your code is 4711. Do not share it with anyone.');
    const url = `http://127.0.0.1:${port}/send?serviceId=bench&pass=bench-pass&clientId=79036550550&message=${text}`;
    // Warm-up: JIT, connection pools, first id block.
    await run(url, 2, 16, 0, []);
    await new Promise((r) => setTimeout(r, 500));
    const warm = (await pool.query('SELECT count(*)::int AS n FROM message')).rows[0].n;

    process.stdout.write(`bench:ingress: ${seconds}s, ${connections} keep-alive connections${rate ? `, ${rate} req/s offered` : ', unthrottled'}\n`);
    const okIds = [];
    const result = await run(url, seconds, connections, rate, okIds);
    await new Promise((r) => setTimeout(r, 500));
    const stored = (await pool.query('SELECT count(*)::int AS n FROM message WHERE partner_id = $1', [partnerId])).rows[0].n - warm;
    const ok = result['2xx'];
    // Every id answered OK must be stored; requests still in flight when the load stopped were
    // stored too but their answers were not counted, so at most one per connection is extra.
    const found = (await pool.query('SELECT count(*)::int AS n FROM message WHERE id = ANY($1::bigint[])', [okIds])).rows[0].n;
    const storedOk = found === okIds.length && okIds.length === ok && stored - ok >= 0 && stored - ok <= connections;
    const non200 = result.non2xx + result.errors + result.timeouts;
    const lat = result.latency;
    const out = {
      acceptedPerSecond: Math.round(ok / seconds),
      requests: result.requests.total,
      ok,
      non200,
      latencyMs: { p50: lat.p50, p90: lat.p90, p99: lat.p99, 'p99.9': lat.p99_9, max: lat.max },
      storedRows: stored,
      okIdsFound: found,
      inFlightAtStop: stored - ok,
      storedEqualsOk: storedOk,
      synchronousCommit: sync.rows[0].synchronous_commit,
    };
    process.stdout.write(
      `accepted/s        ${out.acceptedPerSecond}\n` +
        `latency ms        p50 ${lat.p50}  p90 ${lat.p90}  p99 ${lat.p99}  p99.9 ${lat.p99_9}  max ${lat.max}\n` +
        `non-200           ${non200} (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})\n` +
        `stored rows       ${stored} for ${ok} OK answers; every OK id stored: ${found}/${okIds.length}; ${stored - ok} answered after the load stopped: ${storedOk ? 'consistent' : 'MISMATCH'}\n` +
        `synchronous_commit ${out.synchronousCommit}\n`,
    );
    process.stdout.write(`${JSON.stringify(out)}\n`);
    if (!out.storedEqualsOk) process.exitCode = 1;
  } finally {
    ingress.kill('SIGTERM');
    await new Promise((r) => ingress.on('exit', r));
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await pool.end();
  }
}

function run(url, duration, conns, overallRate, okIds = []) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        duration,
        connections: conns,
        pipelining: 1,
        ...(overallRate ? { overallRate } : {}),
        setupClient(client) {
          client.on('body', (body) => {
            const m = /^OK\n(\d+)$/.exec(body.toString());
            if (m) okIds.push(m[1]);
          });
        },
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

function waitForHealth(p) {
  return waitForService(`http://127.0.0.1:${p}`, null, null, 'ingress', 20_000);
}

main().catch((e) => {
  process.stderr.write(`bench:ingress failed: ${e.message}\n`);
  process.exit(1);
});
