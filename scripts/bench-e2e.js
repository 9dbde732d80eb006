// `npm run bench:e2e`: the whole delivery path against local PostgreSQL and Redis, from a
// partner's /send to the final status written after the SMSC's delivery receipt.
// Starts its own SMSC simulator, ingress and smsc-connector (child processes) on a bench database
// and Redis prefix, sends BENCH_MESSAGES (default 20000) messages over keep-alive connections,
// waits until every accepted message has a final status (2 delivered, 5 not delivered) or
// BENCH_TIMEOUT_S (default 120) passes, and prints end-to-end throughput, accept-to-final latency
// and lost messages. Needs `npm run build` first, the connector included.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Pool } = require('pg');
const Redis = require('ioredis');
const autocannon = require('autocannon');
const { preflight } = require('./preflight');
const { cpuMs, intSetting, portFree, prefixOutput, sleep, stopChildren: stopAll, waitForHealth: waitForService, withDatabase } = require('./lib/services');

const root = path.resolve(__dirname, '..');
const env = process.env;
const messages = int('BENCH_MESSAGES', 20000, 1);
// Concurrent partner connections: each request waits for its group commit, so the ingress's
// batches (and the rate) grow with them; 128 is a modest load for an aggregator's intake.
const connections = int('BENCH_CONNECTIONS', 128, 1);
/** 0 = as fast as the ingress answers; otherwise requests per second in total. */
const rate = int('BENCH_RATE', 0, 0);
const timeoutS = int('BENCH_TIMEOUT_S', 120, 1);
const ingressPort = int('BENCH_PORT', 18081, 1);
const connectorPort = int('BENCH_CONNECTOR_PORT', 18090, 1);
const simSmppPort = int('BENCH_SIM_SMPP_PORT', 12775, 1);
const simHttpPort = int('BENCH_SIM_HTTP_PORT', 18025, 1);
const dlrDelayMs = int('BENCH_DLR_DELAY_MS', 10, 0);
const smscTps = int('BENCH_SMSC_TPS', 100000, 1);
const smscWindow = int('BENCH_SMSC_WINDOW', 100, 1);
/** deliver_sm (receipts) the simulator keeps unanswered at once. */
const deliverWindow = int('BENCH_SMSC_DELIVER_WINDOW', smscWindow, 1);
const keepDb = Boolean(env.BENCH_KEEP_DB);
const adminUrl = env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const benchDb = 'smsgw_bench_e2e';
const databaseUrl = withDatabase(adminUrl, benchDb);
const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = 'smsgwbenche2e';
const pepper = 'bench-pepper-0123456789';
const LOG_LEVEL = env.BENCH_LOG_LEVEL || 'warn';

const APPS = {
  'smsc-simulator': path.join(root, 'apps/smsc-simulator/dist/main.js'),
  'ingress-api': path.join(root, 'apps/ingress-api/dist/main.js'),
  'smsc-connector': path.join(root, 'apps/smsc-connector/dist/main.js'),
};

function int(name, fallback, min) {
  return intSetting(env, name, fallback, min, fail);
}

function fail(message) {
  process.stderr.write(`bench:e2e: ${message}\n`);
  process.exit(1);
}

/** Children, in start order; stopped in reverse. */
const children = [];
let stopping = false;
let cleanup = null;
/** The running autocannon instance, stopped on Ctrl-C. */
let load = null;

async function main() {
  // Everything that needs no database first, so a missing piece costs nothing.
  for (const [name, file] of Object.entries(APPS)) {
    if (!fs.existsSync(file)) {
      const what = name === 'smsc-connector' ? 'the SMPP connector is not built (or not written yet)' : `${name} is not built`;
      fail(`${path.relative(root, file)} does not exist: ${what}. Run npm run build first; bench:e2e needs the simulator, the ingress and the connector.`);
    }
  }
  const problem = await preflight();
  if (problem) fail(problem);
  for (const [port, variable] of [
    [ingressPort, 'BENCH_PORT'],
    [connectorPort, 'BENCH_CONNECTOR_PORT'],
    [simSmppPort, 'BENCH_SIM_SMPP_PORT'],
    [simHttpPort, 'BENCH_SIM_HTTP_PORT'],
  ]) {
    if (!(await portFree(port))) fail(`port ${port} is in use; set ${variable} to a free one`);
  }

  // A fresh database each run, so the counts are this run's only.
  const admin = new Pool({ connectionString: withDatabase(adminUrl, 'postgres'), max: 1 });
  await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
  const mig = spawnSync('npm', ['run', '--silent', 'db:migrate'], { cwd: root, env: { ...env, DATABASE_URL: databaseUrl }, encoding: 'utf8' });
  if (mig.status !== 0) {
    await admin.end();
    throw new Error(`migration failed: ${mig.stderr || mig.stdout}`);
  }

  const redis = new Redis(redisUrl);
  await deleteKeys(redis);
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });

  // Idle clients see "terminating connection" when the database is dropped at the end.
  admin.on('error', () => {});
  pool.on('error', () => {});
  let cleaning = null;
  cleanup = () => (cleaning ??= clean());
  const clean = async () => {
    await stopChildren();
    await deleteKeys(redis).catch(() => {});
    await redis.quit().catch(() => {});
    await pool.end().catch(() => {});
    if (!keepDb) await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`).catch(() => {});
    await admin.end().catch(() => {});
  };

  try {
    const { hashApiPassword } = require(path.join(root, 'packages/db/dist'));
    const { rows } = await pool.query(
      `INSERT INTO partner (login, api_password_hash, allowed_ips, senders, default_sender, rate_limit)
       VALUES ('bench', $1, ARRAY['127.0.0.1/32','::1/128'], ARRAY['BENCH'], 'BENCH', 1000000) RETURNING id`,
      [hashApiPassword('bench-pass', pepper)],
    );
    const partnerId = rows[0].id;
    await pool.query(
      `INSERT INTO smsc_connection (name, host, port, system_id, password, tps, "window")
       VALUES ('bench-simulator', '127.0.0.1', $1, 'smsgw', 'smsgw', $2, $3)`,
      [simSmppPort, smscTps, smscWindow],
    );
    const sync = (await pool.query('SHOW synchronous_commit')).rows[0].synchronous_commit;

    const common = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, API_PASSWORD_PEPPER: pepper, LOG_LEVEL };
    start('smsc-simulator', {
      SIM_SMPP_PORT: String(simSmppPort),
      SIM_SMPP_HOST: '127.0.0.1',
      SIM_HTTP_PORT: String(simHttpPort),
      SIM_HTTP_HOST: '127.0.0.1',
      SIM_DLR_DELAY_MS: String(dlrDelayMs),
      SIM_TPS: '0',
      SIM_WINDOW: String(smscWindow),
      SIM_DELIVER_WINDOW: String(deliverWindow),
      SIM_ACCOUNTS: 'smsgw:smsgw',
      SIM_OUTCOMES: env.BENCH_OUTCOMES || 'DELIVRD=1',
      SIM_RECORD_LIMIT: String(Math.max(1000, Math.min(messages, 100000))),
      LOG_LEVEL,
    });
    await waitForHealth('smsc-simulator', simHttpPort);
    start('ingress-api', { ...common, INGRESS_PORT: String(ingressPort), INGRESS_HOST: '127.0.0.1' });
    start('smsc-connector', { ...common, CONNECTOR_HTTP_PORT: String(connectorPort) });
    await waitForHealth('ingress-api', ingressPort);
    await waitForHealth('smsc-connector', connectorPort);
    await waitForBind();

    process.stdout.write(
      `bench:e2e: ${messages} messages, ${connections} keep-alive connections${rate ? `, ${rate} req/s offered` : ', unthrottled'}; ` +
        `simulator receipts after ${dlrDelayMs} ms, connection tps ${smscTps}, window ${smscWindow} (deliver_sm ${deliverWindow})\n`,
    );
    const cpuBefore = await cpuSnapshot(pool);
    const okIds = [];
    const sendStart = Date.now();
    const result = await send(okIds);
    if (stopping) throw new Error('interrupted');
    const sendSeconds = (Date.now() - sendStart) / 1000;
    const non200 = result.non2xx + result.errors + result.timeouts;
    process.stdout.write(`sent              ${okIds.length} accepted in ${sendSeconds.toFixed(1)} s (${Math.round(okIds.length / sendSeconds)}/s), ${non200} not accepted\n`);

    // Wait for the final statuses.
    const deadline = Date.now() + timeoutS * 1000;
    let lastReport = Date.now();
    let finals = 0;
    for (;;) {
      finals = (await pool.query('SELECT count(*)::int AS n FROM message WHERE partner_id = $1 AND status IN (2, 5)', [partnerId])).rows[0].n;
      if (stopping) throw new Error('interrupted');
      if (finals >= okIds.length || Date.now() > deadline) break;
      for (const name of ['smsc-connector', 'ingress-api', 'smsc-simulator']) if (!alive(name)) throw new Error(`${name} exited while messages were on their way`);
      if (Date.now() - lastReport >= 5000) {
        lastReport = Date.now();
        process.stdout.write(`  … ${finals}/${okIds.length} final\n`);
      }
      await sleep(250);
    }
    const timedOut = finals < okIds.length;
    const cpuAfter = await cpuSnapshot(pool);

    const counts = (
      await pool.query(
        `SELECT count(m.id)::int AS found,
                count(*) FILTER (WHERE m.id IS NULL)::int AS no_row,
                count(*) FILTER (WHERE m.status = 2)::int AS delivered,
                count(*) FILTER (WHERE m.status = 5)::int AS undelivered,
                count(*) FILTER (WHERE m.status NOT IN (2, 5))::int AS not_final,
                count(*) FILTER (WHERE m.status IN (2, 5) AND m.done_at IS NULL)::int AS no_done_at
         FROM unnest($1::bigint[]) AS ids(id) LEFT JOIN message m ON m.id = ids.id`,
        [okIds],
      )
    ).rows[0];
    // done_at is the time of the final status; updated_at stands in where a row has none.
    const lat = (
      await pool.query(
        `WITH f AS (
           SELECT created_at, coalesce(done_at, updated_at) AS final_at
           FROM message WHERE id = ANY($1::bigint[]) AND status IN (2, 5))
         SELECT count(*)::int AS n,
                percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM final_at - created_at) * 1000) AS p,
                max(extract(epoch FROM final_at - created_at) * 1000) AS max,
                extract(epoch FROM max(final_at) - min(created_at)) AS span_s
         FROM f`,
        [okIds],
      )
    ).rows[0];
    const ms = (v) => (v === null || v === undefined ? null : Math.round(Number(v)));
    const [p50, p90, p99] = (lat.p || [null, null, null]).map(ms);
    const span = Number(lat.span_s || 0);
    const lost = counts.no_row + counts.not_final;
    const out = {
      messages,
      accepted: okIds.length,
      notAccepted: non200,
      acceptedPerSecond: Math.round(okIds.length / sendSeconds),
      finalPerSecond: span > 0 ? Math.round(lat.n / span) : null,
      latencyMs: { p50, p90, p99, max: ms(lat.max) },
      delivered: counts.delivered,
      undelivered: counts.undelivered,
      lost,
      lostNoRow: counts.no_row,
      lostNotFinal: counts.not_final,
      timedOut,
      finalTimeFrom: { doneAt: lat.n - counts.no_done_at, updatedAt: counts.no_done_at },
      dlrDelayMs,
      synchronousCommit: sync,
      cpuMsPerMessage: cpuPerMessage(cpuBefore, cpuAfter, okIds.length),
    };
    process.stdout.write(
      `accepted          ${out.accepted} of ${messages} (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})\n` +
        `end to end        ${out.finalPerSecond ?? '-'} final statuses/s (${lat.n} in ${span.toFixed(1)} s, first accept to last final)\n` +
        `accept→final ms   p50 ${p50 ?? '-'}  p90 ${p90 ?? '-'}  p99 ${p99 ?? '-'}  max ${out.latencyMs.max ?? '-'}\n` +
        `final             ${counts.delivered} delivered (2), ${counts.undelivered} not delivered (5)\n` +
        `lost              ${lost} (${counts.no_row} accepted ids without a row, ${counts.not_final} not final${timedOut ? ` after ${timeoutS} s` : ''})\n` +
        `synchronous_commit ${sync}\n` +
        `CPU ms/message    ${Object.entries(out.cpuMsPerMessage)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} (CPU time the services used per accepted message: what bounds throughput on a busy machine)\n`,
    );
    if (counts.no_done_at > 0) {
      process.stdout.write(`note: ${counts.no_done_at} final rows have no done_at; their latency is measured to updated_at\n`);
    }
    out.meanBatch = await meanBatches(connectorPort);
    if (Object.keys(out.meanBatch).length > 0) {
      process.stdout.write(
        `connector batches ${Object.entries(out.meanBatch)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} (mean items per statement)\n`,
      );
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
    if (lost > 0 || out.accepted === 0) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

/**
 * CPU time (user + system, ms) used so far by each service process and by the PostgreSQL backends
 * serving the bench database, read from /proc (Linux). Redis is shared with anything else running,
 * so it is left out.
 */
async function cpuSnapshot(pool) {
  const out = {};
  for (const child of children) {
    const v = cpuMs(child.pid);
    if (v !== null) out[child.name] = v;
  }
  const { rows } = await pool.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [benchDb]);
  out.postgres = {};
  for (const { pid } of rows) {
    const v = cpuMs(pid);
    if (v !== null) out.postgres[pid] = v;
  }
  return out;
}

/** Mean items per batched statement of the connector, from its /metrics. */
async function meanBatches(port) {
  const out = {};
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const read = (metric) => {
      const m = new Map();
      for (const [, name, v] of text.matchAll(new RegExp(`^${metric}\\{batcher="([^"]+)"\\} (\\S+)$`, 'gm'))) m.set(name, Number(v));
      return m;
    };
    const runs = read('smsgw_batch_runs_total');
    const items = read('smsgw_batch_items_total');
    for (const [name, n] of runs) if (n > 0) out[name] = Number(((items.get(name) ?? 0) / n).toFixed(1));
  } catch {
    // The figures are extra; a connector that does not answer any more is reported elsewhere.
  }
  return out;
}

function cpuPerMessage(before, after, n) {
  const out = {};
  if (n === 0) return out;
  for (const name of Object.keys(after)) {
    if (name === 'postgres') continue;
    out[name] = Number(((after[name] - (before[name] ?? 0)) / n).toFixed(3));
  }
  // Backends that came and went in between are missed; the services keep pooled connections.
  let pg = 0;
  for (const [pid, v] of Object.entries(after.postgres)) pg += v - (before.postgres[pid] ?? 0);
  out.postgres = Number((pg / n).toFixed(3));
  out.total = Number(Object.values(out).reduce((a, b) => a + b, 0).toFixed(3));
  return out;
}

/** Starts an app's dist/main.js with its output prefixed by its name. */
function start(name, childEnv) {
  // BENCH_PROFILE=DIR: every service writes a V8 CPU profile there when it exits (open in Chrome DevTools).
  const flags = env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(env.BENCH_PROFILE)}`] : [];
  const child = spawn(process.execPath, [...flags, APPS[name]], { cwd: root, env: { ...env, ...childEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.name = name;
  prefixOutput(child, name);
  child.on('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`bench:e2e: ${name} exited during the run (${signal ?? code}); see its lines above\n`);
  });
  children.push(child);
  return child;
}

async function stopChildren() {
  stopping = true;
  await stopAll(children);
}

function alive(name) {
  const child = children.find((c) => c.name === name);
  return child && child.exitCode === null && child.signalCode === null;
}

/** The service's /health answers 200; fails at once when it exits or the bench is stopped. */
function waitForHealth(name, port, ms = 30000) {
  return waitForService(name, port, ms, () => {
    if (stopping) throw new Error('interrupted');
    if (!alive(name)) throw new Error(`${name} exited before it became healthy; see its lines above`);
  });
}

/** The simulator counts bound sessions: the connector has bound when one is there. */
async function waitForBind(ms = 30000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (stopping) throw new Error('interrupted');
    if (!alive('smsc-connector')) throw new Error('smsc-connector exited before it bound; see its lines above');
    const counters = await (await fetch(`http://127.0.0.1:${simHttpPort}/counters`)).json();
    const bound = Object.values(counters.binds || {}).reduce((a, b) => a + b, 0);
    if (bound > 0) return;
    await sleep(200);
  }
  throw new Error(`smsc-connector did not bind to the simulator (127.0.0.1:${simSmppPort}, system_id smsgw) within ${ms / 1000} s`);
}

/**
 * Sends `messages` requests; collects the ids of the OK answers. Destinations vary and all end
 * in 1, so none hits the simulator's magic numbers (…0000, …0002, …0005).
 */
function send(okIds) {
  let n = 0;
  const text = encodeURIComponent('Your code is 4711. Do not share it with anyone.');
  return new Promise((resolve, reject) => {
    load = autocannon(
      {
        url: `http://127.0.0.1:${ingressPort}`,
        amount: messages,
        connections: Math.min(connections, messages),
        pipelining: 1,
        timeout: 30,
        ...(rate ? { overallRate: rate } : {}),
        requests: [
          {
            method: 'GET',
            setupRequest(req) {
              const msisdn = `7903${String(n++ % 1000000).padStart(6, '0')}1`;
              return { ...req, path: `/send?serviceId=bench&pass=bench-pass&clientId=${msisdn}&message=${text}` };
            },
          },
        ],
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

async function deleteKeys(redis) {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    process.stderr.write(`bench:e2e: ${signal}, stopping\n`);
    stopping = true;
    if (load) load.stop();
    Promise.resolve(cleanup ? cleanup() : stopChildren()).finally(() => process.exit(130));
  });
}

main().catch(async (e) => {
  if (!stopping || e.message !== 'interrupted') process.stderr.write(`bench:e2e failed: ${e.message}\n`);
  if (cleanup) await cleanup().catch(() => {});
  else await stopChildren();
  process.exit(1);
});
