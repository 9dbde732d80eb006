// `npm run bench:mo`: incoming messages (MO) from many subscribers to one partner, through the
// SMSC simulator, the SMPP connector and the callback worker (child processes, as `npm start`
// runs them) on a bench database and Redis prefix, to a partner server in this process that
// answers every push after BENCH_MO_DELAYS ms (default 5 and 50). For each answer time and each
// order mode (partner: all MO in one line; subscriber: a line per subscriber) it runs
// Before anything is measured, BENCH_MO_WARMUP MO (3,000) go through the whole path once (JIT,
// pools, plans). Then
//   - a burst: BENCH_MO_BURST MO injected as fast as the simulator takes them: MO/s at the partner;
//   - a paced phase: BENCH_MO_PACED_SECONDS at half the burst's rate (below saturation): latency.
//   - a backlog (BENCH_MO_BACKLOG=0 leaves it out): the same burst stored while the callback worker
//     is paused (SIGSTOP), then the worker resumed: the rate of the worker alone (with PostgreSQL
//     and Redis), without the simulator and the connector competing for the CPU.
// Latency is from the MO's arrival at the connector (mo_message.received_at) to the push's arrival
// at the partner; the largest gap is the longest time between two pushes while MO were waiting.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { Pool } = require('pg');
const Redis = require('ioredis');
const { preflight } = require('./preflight');
const { clearRedisPrefix, cpuMs, freshDatabase, intSetting, portFree, prefixOutput, sleep, stopChildren: stopAll, waitForHealth, withDatabase } = require('./lib/services');

const root = path.resolve(__dirname, '..');
const env = process.env;
const fail = (message) => {
  process.stderr.write(`bench:mo: ${message}\n`);
  process.exit(1);
};
const int = (name, fallback, min) => intSetting(env, name, fallback, min, fail);
const burst = int('BENCH_MO_BURST', 3000, 10);
/** One line per partner is slow by design (one push per answer time): a shorter burst says as much. */
const partnerBurst = int('BENCH_MO_PARTNER_BURST', 500, 10);
const pacedSeconds = int('BENCH_MO_PACED_SECONDS', 10, 1);
const warmup = int('BENCH_MO_WARMUP', 3000, 0);
const backlog = int('BENCH_MO_BACKLOG', 1, 0) > 0;
const subscribers = int('BENCH_MO_SUBSCRIBERS', 500, 1);
const concurrency = int('BENCH_MO_CONCURRENCY', 32, 1);
const delays = (env.BENCH_MO_DELAYS || '5,50').split(',').map((d) => {
  if (!/^\d+$/.test(d.trim())) fail(`BENCH_MO_DELAYS="${env.BENCH_MO_DELAYS}" must be comma-separated whole numbers of ms`);
  return Number(d);
});
const modes = (env.BENCH_MO_MODES || 'partner,subscriber').split(',').map((m) => {
  if (m !== 'partner' && m !== 'subscriber') fail(`BENCH_MO_MODES: "${m}" is not partner or subscriber`);
  return m;
});
const connectorPort = int('BENCH_CONNECTOR_PORT', 18190, 1);
const workerPort = int('BENCH_WORKER_PORT', 18191, 1);
const simSmppPort = int('BENCH_SIM_SMPP_PORT', 12875, 1);
const simHttpPort = int('BENCH_SIM_HTTP_PORT', 18125, 1);
const adminUrl = env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const benchDb = 'smsgw_bench_mo';
const databaseUrl = withDatabase(adminUrl, benchDb);
const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = 'smsgwbenchmo';
const LOG_LEVEL = env.BENCH_LOG_LEVEL || 'warn';
const SERVICE_NUMBER = '4565';

const APPS = {
  'smsc-simulator': { file: 'apps/smsc-simulator/dist/main.js', args: [] },
  'smsc-connector': { file: 'apps/smsc-connector/dist/main.js', args: [] },
  // The node options of its npm start (scripts/start.js).
  'callback-worker': { file: 'apps/callback-worker/dist/main.js', args: ['--max-semi-space-size=32'] },
};

const children = [];
let stopping = false;

function start(name, childEnv) {
  const prof = env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(env.BENCH_CPU_PROF_DIR)}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...prof, ...APPS[name].args, path.join(root, APPS[name].file)], { cwd: root, env: { ...env, ...childEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.name = name;
  prefixOutput(child, name);
  child.on('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`bench:mo: ${name} exited during the run (${signal ?? code}); see its lines above\n`);
  });
  children.push(child);
}

function alive(name) {
  const c = children.find((x) => x.name === name);
  return c && c.exitCode === null && c.signalCode === null;
}
const check = (name) => () => {
  if (stopping) throw new Error('interrupted');
  if (!alive(name)) throw new Error(`${name} exited; see its lines above`);
};

async function stopChildren() {
  stopping = true;
  await stopAll(children);
}

/** The partner: answers each push after `delayMs`, remembers when each MO id arrived. */
function startPartner() {
  const state = { delayMs: 5, arrivals: new Map(), duplicates: 0 };
  const server = http.createServer((req, res) => {
    const at = Date.now();
    const id = new URL(req.url, 'http://x').searchParams.get('messageId');
    if (id) {
      if (state.arrivals.has(id)) state.duplicates++;
      else state.arrivals.set(id, at);
    }
    setTimeout(() => res.writeHead(204).end(), state.delayMs);
  });
  server.keepAliveTimeout = 10_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ state, server, port: server.address().port })));
}

/**
 * Injects MO through the simulator's control API, `rate` per second (0: as fast as it takes them),
 * in batches (`POST /mo/batch`): an HTTP request per MO would cost the machine more than the
 * platform's own work on the MO. Paced: what is due every 20 ms goes in one request.
 */
async function inject(n, rate, round) {
  const started = Date.now();
  const mo = (i) => ({ from: `7903${String(1_000_000 + (i % subscribers)).slice(1)}00`, to: SERVICE_NUMBER, text: `${round} ${i}` });
  const post = async (from, to) => {
    const messages = [];
    for (let i = from; i < to; i++) messages.push(mo(i));
    const res = await fetch(`http://127.0.0.1:${simHttpPort}/mo/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages }),
    });
    if (!res.ok) throw new Error(`simulator /mo/batch answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  if (rate > 0) {
    for (let sent = 0; sent < n; ) {
      const due = Math.min(n, Math.floor(((Date.now() - started) * rate) / 1000) + 1);
      if (due > sent) {
        await post(sent, due);
        sent = due;
      }
      await sleep(20);
    }
    return;
  }
  const BATCH = 50;
  let next = 0;
  const one = async () => {
    while (next < n) {
      const from = next;
      next = Math.min(n, next + BATCH);
      await post(from, next);
    }
  };
  await Promise.all([one(), one()]);
}

/** Waits until every MO stored since `sinceId` reached the partner (or `ms` passed). */
async function settle(pool, partner, sinceId, expected, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const { rows } = await pool.query('SELECT id::text FROM mo_message WHERE id > $1', [sinceId]);
    const arrived = rows.filter((r) => partner.state.arrivals.has(r.id)).length;
    if (rows.length >= expected && arrived >= rows.length) return;
    if (Date.now() > until) throw new Error(`after ${ms / 1000} s: ${rows.length}/${expected} MO stored, ${arrived} at the partner`);
    for (const name of Object.keys(APPS)) check(name)();
    await sleep(100);
  }
}

/** Latency and rate of the MO stored after `sinceId`. */
async function figures(pool, partner, sinceId) {
  const { rows } = await pool.query('SELECT id::text, extract(epoch FROM received_at) * 1000 AS at FROM mo_message WHERE id > $1', [sinceId]);
  const lat = [];
  const arrivals = [];
  for (const r of rows) {
    const got = partner.state.arrivals.get(r.id);
    if (got === undefined) continue;
    lat.push(got - Number(r.at));
    arrivals.push([Number(r.at), got]);
  }
  lat.sort((a, b) => a - b);
  const pct = (p) => Math.round(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]);
  // Largest gap between two pushes while some MO had arrived and was not yet pushed.
  const byPush = arrivals.map((a) => a[1]).sort((a, b) => a - b);
  const firstIn = Math.min(...arrivals.map((a) => a[0]));
  let gap = 0;
  let gapAt = 0;
  let prev = firstIn;
  for (const t of byPush) {
    const waiting = arrivals.some(([inAt, outAt]) => inAt <= prev && outAt >= t);
    if (waiting && t - prev > gap) {
      gap = t - prev;
      gapAt = prev - firstIn;
    }
    prev = t;
  }
  const span = (Math.max(...byPush) - firstIn) / 1000;
  // The rate at which the connector stored them: a worker that keeps up pushes at about this rate.
  const inSpan = (Math.max(...arrivals.map((a) => a[0])) - firstIn) / 1000;
  return { n: lat.length, perSecond: Math.round(lat.length / span), storedPerSecond: Math.round(lat.length / Math.max(inSpan, 0.001)), p50: pct(50), p99: pct(99), max: Math.round(lat[lat.length - 1]), gap: Math.round(gap), gapAt: Math.round(gapAt) };
}

/** `n` MO stored while the callback worker is paused, then pushed: MO/s from its resumption to the last push. */
async function drainBacklog(pool, partner, n, round) {
  const worker = children.find((c) => c.name === 'callback-worker');
  const since = await lastId(pool);
  process.kill(worker.pid, 'SIGSTOP');
  let resumedAt;
  let cpu0;
  try {
    await inject(n, 0, round);
    for (const until = Date.now() + 120000; ; await sleep(100)) {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM mo_message WHERE id > $1', [since]);
      if (rows[0].n >= n) break;
      if (Date.now() > until) throw new Error(`backlog: ${rows[0].n}/${n} MO stored after 120 s`);
    }
    cpu0 = await cpuSnapshot(pool);
    resumedAt = Date.now();
  } finally {
    process.kill(worker.pid, 'SIGCONT');
  }
  await settle(pool, partner, since, n, 600000);
  const cpu1 = await cpuSnapshot(pool);
  const { rows } = await pool.query('SELECT id::text FROM mo_message WHERE id > $1', [since]);
  const last = Math.max(...rows.map((r) => partner.state.arrivals.get(r.id)));
  const cpu = cpuPerMo(cpu0, cpu1, n);
  const cpuMsPerMo = { 'callback-worker': cpu['callback-worker'], postgres: cpu.postgres };
  return { n, perSecond: Math.round(n / ((last - resumedAt) / 1000)), cpuMsPerMo };
}

async function lastId(pool) {
  return (await pool.query('SELECT coalesce(max(id), 0)::text AS id FROM mo_message')).rows[0].id;
}

async function cpuSnapshot(pool) {
  const out = {};
  for (const c of children) out[c.name] = cpuMs(c.pid) ?? 0;
  const { rows } = await pool.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [benchDb]);
  out.postgres = new Map();
  for (const { pid } of rows) out.postgres.set(pid, cpuMs(pid) ?? 0);
  return out;
}

/**
 * CPU ms per MO of each process between two snapshots. PostgreSQL: the backends of the bench
 * database, each from its first snapshot (a backend that ended in between is not counted: the
 * figure is a lower bound when pools close idle connections).
 */
function cpuPerMo(cpu0, cpu1, n) {
  const out = {};
  for (const k of Object.keys(cpu1)) {
    const ms = k === 'postgres' ? [...cpu1.postgres].reduce((sum, [pid, t]) => sum + t - (cpu0.postgres.get(pid) ?? 0), 0) : cpu1[k] - (cpu0[k] ?? 0);
    out[k] = Number((ms / n).toFixed(3));
  }
  return out;
}

async function main() {
  for (const [name, app] of Object.entries(APPS)) {
    if (!fs.existsSync(path.join(root, app.file))) fail(`${app.file} does not exist: ${name} is not built. Run npm run build first.`);
  }
  const problem = await preflight();
  if (problem) fail(problem);
  for (const [port, variable] of [
    [connectorPort, 'BENCH_CONNECTOR_PORT'],
    [workerPort, 'BENCH_WORKER_PORT'],
    [simSmppPort, 'BENCH_SIM_SMPP_PORT'],
    [simHttpPort, 'BENCH_SIM_HTTP_PORT'],
  ]) {
    if (!(await portFree(port))) fail(`port ${port} is in use; set ${variable} to a free one`);
  }

  await freshDatabase(adminUrl, benchDb);
  const admin = new Pool({ connectionString: withDatabase(adminUrl, 'postgres'), max: 1 });
  admin.on('error', () => {});
  const redis = new Redis(redisUrl);
  const deleteKeys = () => clearRedisPrefix(redis, prefix);
  await deleteKeys();
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  pool.on('error', () => {});
  const partner = await startPartner();
  const cleanup = async () => {
    await stopChildren();
    partner.server.closeAllConnections();
    partner.server.close();
    await deleteKeys().catch(() => {});
    await redis.quit().catch(() => {});
    await pool.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`).catch(() => {});
    await admin.end().catch(() => {});
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    const { rows } = await pool.query(
      `INSERT INTO partner (login, api_password_hash, mo_url, callback_concurrency) VALUES ('bench', 'x', $1, $2) RETURNING id`,
      [`http://127.0.0.1:${partner.port}/mo`, concurrency],
    );
    const partnerId = rows[0].id;
    await pool.query('INSERT INTO service_number (number, partner_id) VALUES ($1, $2)', [SERVICE_NUMBER, partnerId]);
    await pool.query(`INSERT INTO smsc_connection (name, host, port, system_id, password, tps, "window") VALUES ('bench-simulator', '127.0.0.1', $1, 'smsgw', 'smsgw', 100000, 100)`, [simSmppPort]);
    const common = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, LOG_LEVEL };
    start('smsc-simulator', { SIM_SMPP_PORT: String(simSmppPort), SIM_SMPP_HOST: '127.0.0.1', SIM_HTTP_PORT: String(simHttpPort), SIM_HTTP_HOST: '127.0.0.1', SIM_ACCOUNTS: 'smsgw:smsgw', LOG_LEVEL });
    await waitForHealth('smsc-simulator', simHttpPort, 30000, check('smsc-simulator'));
    start('smsc-connector', { ...common, CONNECTOR_HTTP_PORT: String(connectorPort), CONNECTOR_HTTP_HOST: '127.0.0.1' });
    // The partner server is on 127.0.0.1: a private address the worker refuses unless allowed.
    start('callback-worker', { ...common, CALLBACK_HTTP_PORT: String(workerPort), CALLBACK_HTTP_HOST: '127.0.0.1', CALLBACK_ALLOW_PRIVATE_TARGETS: 'true' });
    await waitForHealth('smsc-connector', connectorPort, 30000, check('smsc-connector'));
    await waitForHealth('callback-worker', workerPort, 30000, check('callback-worker'));
    for (const until = Date.now() + 30000; ; await sleep(200)) {
      const counters = await (await fetch(`http://127.0.0.1:${simHttpPort}/counters`)).json();
      if (Object.values(counters.binds || {}).reduce((a, b) => a + b, 0) > 0) break;
      if (Date.now() > until) throw new Error('the connector did not bind to the simulator within 30 s');
    }
    process.stdout.write(`bench:mo: ${subscribers} subscribers, burst ${burst} MO (${partnerBurst} with one line per partner), paced ${pacedSeconds} s at half the burst's rate; partner callback concurrency ${concurrency}\n`);

    const results = [];
    let round = 0;
    if (warmup > 0) {
      // Warm-up of the whole path (JIT, pools, plans) before anything is measured, with order
      // per subscriber and a fast partner: otherwise the first burst measures the warm-up.
      partner.state.delayMs = 1;
      await pool.query(`UPDATE partner SET mo_order = 'subscriber' WHERE id = $1`, [partnerId]);
      await redis.publish(`${prefix}:partner-changed`, String(partnerId));
      await sleep(300);
      const since = await lastId(pool);
      await inject(warmup, 0, `w${++round}`);
      await settle(pool, partner, since, warmup, 600000);
    }
    for (const delayMs of delays) {
      for (const mode of modes) {
        partner.state.delayMs = delayMs;
        await pool.query(`UPDATE partner SET mo_order = $2 WHERE id = $1`, [partnerId, mode]);
        await redis.publish(`${prefix}:partner-changed`, String(partnerId));
        await sleep(300);
        // Warm-up: connections and plans.
        let since = await lastId(pool);
        await inject(20, 0, `w${++round}`);
        await settle(pool, partner, since, 20, 60000);

        since = await lastId(pool);
        const size = mode === 'partner' ? partnerBurst : burst;
        const cpu0 = await cpuSnapshot(pool);
        await inject(size, 0, `b${++round}`);
        await settle(pool, partner, since, size, 600000);
        const cpu1 = await cpuSnapshot(pool);
        const b = await figures(pool, partner, since);
        const cpu = cpuPerMo(cpu0, cpu1, size);

        const rate = Math.max(1, Math.floor(b.perSecond / 2));
        since = await lastId(pool);
        const n = rate * pacedSeconds;
        await inject(n, rate, `p${++round}`);
        await settle(pool, partner, since, n, 600000);
        const p = await figures(pool, partner, since);
        const r = { answerMs: delayMs, order: mode, burst: b, paced: { rate, ...p }, cpuMsPerMo: cpu };
        if (backlog) r.backlog = await drainBacklog(pool, partner, size, `k${++round}`);
        results.push(r);
        process.stdout.write(
          `answer ${String(delayMs).padStart(3)} ms, order per ${mode.padEnd(10)}  burst ${String(b.perSecond).padStart(5)} MO/s (stored ${b.storedPerSecond}/s; p50 ${b.p50} p99 ${b.p99} max ${b.max} ms, gap ${b.gap} ms at +${b.gapAt} ms)` +
            `  paced ${rate}/s: p50 ${p.p50} p99 ${p.p99} max ${p.max} ms, largest gap ${p.gap} ms` +
            `  CPU ms/MO ${Object.entries(cpu).map(([k, v]) => `${k} ${v}`).join(', ')}` +
            (r.backlog ? `  backlog ${r.backlog.perSecond} MO/s (CPU ms/MO callback-worker ${r.backlog.cpuMsPerMo['callback-worker']}, postgres ${r.backlog.cpuMsPerMo.postgres})` : '') +
            '\n',
        );
      }
    }
    process.stdout.write(`duplicates at the partner: ${partner.state.duplicates}\n`);
    process.stdout.write(`${JSON.stringify({ subscribers, burst, partnerBurst, pacedSeconds, concurrency, duplicates: partner.state.duplicates, results })}\n`);
  } finally {
    await cleanup();
  }
}

main().catch((e) => {
  process.stderr.write(`bench:mo: ${e.message}\n`);
  process.exitCode = 1;
  stopChildren().finally(() => process.exit(1));
});
