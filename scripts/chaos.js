// `npm run test:chaos`: nothing lost under faults (not part of `npm test`). Bounded; prints a table
// and exits 1 if any scenario failed.
//
// Each scenario runs the platform afresh as `npm start` would, every service a child process with
// a restart policy (restarted about 1 s after it exits, as a container would be), on a PostgreSQL
// cluster and a Redis server of the harness's own (a temporary directory, free ports; the
// machine's PostgreSQL and Redis are never touched), with the SMSC simulator behind a TCP proxy
// (the SMPP link) and a partner server in a child process as the demo partner's status and MO URL.
// Steady load: CHAOS_RATE /send a second, each asking for a delivery report, and CHAOS_MO_RATE MO a
// second injected through the simulator. The simulator sends each receipt and MO once
// (SIM_RECEIPT_MAX_ATTEMPTS=1): one the platform answers with an error or not at all is lost, as
// with an SMSC that does not retry.
// Timeline: load for CHAOS_PRE_S, the fault, load for CHAOS_POST_S more, then the harness waits
// until every accepted message is final (2 or 5) and reported and every injected MO reached the
// partner, or the scenario's limit after the fault's end passes.
//
// Scenarios (CHAOS_SCENARIOS=name,name… for a subset; default all, in this order):
//   kill-ingress, kill-connector, kill-callback-worker, kill-scheduler, kill-portal
//                   kill -9 of that service
//   kill-all        kill -9 of every service together
//   pg10, pg60      PostgreSQL stopped in immediate mode (a crash) for 10 s / 60 s
//   redis-empty     Redis killed and started again with no data
//   partner-down    the partner's server refuses connections for 5 minutes
//   smsc-down       the SMSC refuses connections for 1 minute (open ones reset)
//   link-cut        every SMPP connection reset at once, submits and receipts in flight
//   all             all of these at once: the partner down, every service killed, Redis emptied,
//                   PostgreSQL stopped 60 s and the SMSC down 1 minute from the same moment; then
//                   each service killed in turn, PostgreSQL stopped 10 s, the link cut
// Pass: accepted = stored = final = reported, every injected MO delivered, duplicate reports and
// MO at most 0.1 %, all within 2 minutes of the fault's end (partner-down and all: the longest
// callback retry delay that can be running when the partner is back, plus 1 minute).
//
// Settings (environment):
//   CHAOS_SCENARIOS    comma-separated subset (names above)
//   CHAOS_SHORT=1      smoke durations: load 8 s + 5 s, PostgreSQL 10 s / 20 s, partner down 30 s,
//                      SMSC down 15 s (the limit stays 2 minutes: the platform's sweeps wait 1 minute)
//   CHAOS_RATE         /send per second (default 150)
//   CHAOS_MO_RATE      MO per second (default 10)
//   CHAOS_PRE_S, CHAOS_POST_S, CHAOS_LIMIT_S   load before and after the fault, convergence limit
//   CHAOS_LOG_LEVEL    the services' LOG_LEVEL (default warn)
// The services' logs, PostgreSQL's and Redis's go to test-artifacts/chaos/ (replaced each run),
// with result.json.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Pool } = require('pg');
const Redis = require('ioredis');
const { freePort, intEnv, root, withDatabase } = require('./lib/services');
const { PrivatePostgres, PrivateRedis } = require('./lib/private-stores');
const { MoLoad, PartnerSinkProcess, SendLoad, Supervised, TcpProxy } = require('./lib/chaos-rig');

const TOOL = 'test:chaos';
const env = process.env;
const SHORT = /^(1|true|yes|on)$/i.test(env.CHAOS_SHORT || '');
const S = 1000;
const D = {
  preMs: intEnv('CHAOS_PRE_S', SHORT ? 8 : 20, 1, TOOL) * S,
  postMs: intEnv('CHAOS_POST_S', SHORT ? 5 : 10, 1, TOOL) * S,
  limitMs: intEnv('CHAOS_LIMIT_S', 120, 10, TOOL) * S,
  pgShortMs: 10 * S,
  pgLongMs: (SHORT ? 20 : 60) * S,
  partnerMs: (SHORT ? 30 : 300) * S,
  smscMs: (SHORT ? 15 : 60) * S,
};
const RATE = intEnv('CHAOS_RATE', 150, 1, TOOL);
const MO_RATE = intEnv('CHAOS_MO_RATE', 10, 0, TOOL);
const LOG_LEVEL = env.CHAOS_LOG_LEVEL || 'warn';
const ARTIFACTS = path.join(root, 'test-artifacts', 'chaos');
const PEPPER = 'chaos-pepper-0123456789';
const SERVICE_NUMBER = '4565'; // the demo partner's, from the seed
/** The callback worker's retry schedule and breaker (its defaults; docs/protocol.md §8). */
const CALLBACK_RETRY = { firstMs: 10_000, maxMs: 3_600_000, jitter: 0.2 };
const CALLBACK_BREAKER = { firstMs: 10_000, maxMs: 300_000 };
/** Duplicate pushes allowed, as a share of those delivered. */
const MAX_DUPLICATE_SHARE = 0.001;
/**
 * A push whose first copy reached the partner from 50 ms before a kill -9 of the callback worker
 * until 1 s after it (sent before the kill, read by the partner late) was in flight at the kill:
 * the worker never read the answer, and at-least-once delivery makes it again. Counted apart
 * ("in flight"); an MO duplicate only passes as one of these. The restarted worker pushes nothing
 * within 1 s of the kill.
 */
const IN_FLIGHT = { beforeMs: 50, afterMs: 1000 };

/** The services, as scripts/start.js runs them (node options included); the portal only if built. */
const SERVICES = [
  { name: 'ingress-api', main: 'apps/ingress-api/dist/main.js', env: (p) => ({ INGRESS_PORT: p, INGRESS_HOST: '127.0.0.1' }) },
  { name: 'smsc-connector', main: 'apps/smsc-connector/dist/main.js', env: (p) => ({ CONNECTOR_HTTP_PORT: p, CONNECTOR_HTTP_HOST: '127.0.0.1' }) },
  {
    name: 'callback-worker',
    main: 'apps/callback-worker/dist/main.js',
    nodeArgs: ['--max-semi-space-size=32'],
    env: (p) => ({ CALLBACK_HTTP_PORT: p, CALLBACK_HTTP_HOST: '127.0.0.1' }),
  },
  {
    name: 'scheduler',
    main: 'apps/scheduler/dist/main.js',
    nodeArgs: ['--max-semi-space-size=32', '--max-old-space-size=128'],
    env: (p) => ({ SCHEDULER_HTTP_PORT: p, SCHEDULER_HTTP_HOST: '127.0.0.1' }),
  },
  { name: 'portal', main: 'apps/portal/dist/main.js', optional: true, env: (p, ports) => ({ PORTAL_PORT: p, PORTAL_HOST: '127.0.0.1', CONNECTOR_URLS: `http://127.0.0.1:${ports['smsc-connector']}` }) },
].filter((s) => !s.optional || fs.existsSync(path.join(root, s.main)));
const SIMULATOR = 'apps/smsc-simulator/dist/main.js';

/**
 * The longest callback retry delay that can be running when a partner is back after `downMs`: the
 * k-th delay (first · 2^k, capped) whose earliest start (every delay before it at its shortest)
 * falls inside the outage, at its longest. The breaker's pauses count the same way.
 */
function retryBoundMs(downMs) {
  let start = 0;
  let d = CALLBACK_RETRY.firstMs;
  while (start + d * (1 - CALLBACK_RETRY.jitter) < downMs) {
    start += d * (1 - CALLBACK_RETRY.jitter);
    d = Math.min(d * 2, CALLBACK_RETRY.maxMs);
  }
  let bStart = 0;
  let b = CALLBACK_BREAKER.firstMs;
  while (bStart + b < downMs) {
    bStart += b;
    b = Math.min(b * 2, CALLBACK_BREAKER.maxMs);
  }
  return Math.max(d * (1 + CALLBACK_RETRY.jitter), b);
}
const PARTNER_LIMIT_MS = retryBoundMs(D.partnerMs) + 60 * S;

const KILL = { 'kill-ingress': 'ingress-api', 'kill-connector': 'smsc-connector', 'kill-callback-worker': 'callback-worker', 'kill-scheduler': 'scheduler', 'kill-portal': 'portal' };
const secs = (ms) => `${Math.round(ms / 1000)} s`;

const SCENARIOS = [
  ...Object.entries(KILL)
    .filter(([, service]) => SERVICES.some((s) => s.name === service))
    .map(([name, service]) => ({ name, what: `kill -9 ${service}`, fault: async (c) => c.kill(service) })),
  { name: 'kill-all', what: 'kill -9 of every service together', fault: async (c) => c.killAll() },
  { name: 'pg10', what: `PostgreSQL stopped (immediate) for ${secs(D.pgShortMs)}`, fault: (c) => c.pgDown(D.pgShortMs) },
  { name: 'pg60', what: `PostgreSQL stopped (immediate) for ${secs(D.pgLongMs)}`, fault: (c) => c.pgDown(D.pgLongMs) },
  { name: 'redis-empty', what: 'Redis killed and started again empty', fault: (c) => c.redis.restartEmpty() },
  { name: 'partner-down', what: `the partner's server down for ${secs(D.partnerMs)}`, limitMs: PARTNER_LIMIT_MS, fault: (c) => c.partnerDown(D.partnerMs) },
  { name: 'smsc-down', what: `the SMSC down for ${secs(D.smscMs)}`, fault: (c) => c.smscDown(D.smscMs) },
  { name: 'link-cut', what: 'the SMPP link reset mid-window', fault: async (c) => c.proxy.cut() },
  {
    name: 'all',
    what: 'all at once',
    limitMs: PARTNER_LIMIT_MS,
    fault: (c) =>
      Promise.all([
        c.partnerDown(D.partnerMs),
        (async () => {
          c.killAll();
          await c.redis.restartEmpty();
          await c.smscDown(D.smscMs);
        })(),
        (async () => {
          await c.pgDown(D.pgLongMs);
          await c.sleep(5 * S);
          for (const s of SERVICES) {
            c.kill(s.name);
            await c.sleep(3 * S);
          }
          await c.pgDown(D.pgShortMs);
          await c.sleep(5 * S);
          c.proxy.cut();
        })(),
      ]),
  },
];

class Interrupted extends Error {}
let interrupted = false;

function log(line) {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** A sleep that ends early (throwing) on Ctrl-C. */
async function sleep(ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (interrupted) throw new Interrupted('interrupted');
    await new Promise((r) => setTimeout(r, Math.min(200, until - Date.now())));
  }
  if (interrupted) throw new Interrupted('interrupted');
}

function chooseScenarios() {
  if (!env.CHAOS_SCENARIOS) return SCENARIOS;
  const names = env.CHAOS_SCENARIOS.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    process.stderr.write(`${TOOL}: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
    process.exit(1);
  }
  return SCENARIOS.filter((s) => names.includes(s.name));
}

/** Everything the run owns, for the cleanup (also on exit). */
const owned = { pg: null, redis: null, services: [], proxy: null, sink: null, tmp: null };

function cleanupSync() {
  for (const s of owned.services) s.killSync();
  owned.proxy?.close();
  owned.sink?.close();
  owned.redis?.destroySync();
  owned.pg?.destroySync();
  if (owned.tmp) fs.rmSync(owned.tmp, { recursive: true, force: true });
  owned.redis = owned.pg = owned.tmp = null;
}

async function main() {
  const scenarios = chooseScenarios();
  for (const f of [SIMULATOR, ...SERVICES.map((s) => s.main), 'apps/admin/dist/main.js', 'packages/db/dist/testing.js']) {
    if (!fs.existsSync(path.join(root, f))) throw new Error(`${f} is missing: run npm run build first`);
  }
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  const names = ['pg', 'redis', 'proxy', 'simSmpp', 'simHttp', ...SERVICES.map((s) => s.name)];
  const ports = {};
  for (const n of names) ports[n] = await freePort();

  owned.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgw-chaos-'));
  fs.chmodSync(owned.tmp, 0o711); // the postgres user must reach its data directory inside
  const pg = (owned.pg = new PrivatePostgres(path.join(owned.tmp, 'pg'), ports.pg));
  const redis = (owned.redis = new PrivateRedis(path.join(owned.tmp, 'redis'), ports.redis, path.join(ARTIFACTS, 'redis.log')));
  const proxy = (owned.proxy = new TcpProxy(ports.simSmpp));
  const sink = (owned.sink = new PartnerSinkProcess());

  const estimate = scenarios.reduce((t, s) => t + D.preMs + D.postMs + 20 * S + (s.limitMs ?? D.limitMs), 0);
  log(
    `${TOOL}: ${scenarios.length} scenario(s) ${scenarios.map((s) => s.name).join(', ')}${SHORT ? ' (short)' : ''}; ` +
      `${RATE} /send and ${MO_RATE} MO a second; at most ~${Math.ceil(estimate / 60_000)} min plus the faults`,
  );
  log(`private PostgreSQL on 127.0.0.1:${ports.pg} and Redis on 127.0.0.1:${ports.redis} in ${owned.tmp}`);
  await pg.init();
  await pg.start();
  await redis.start();
  await proxy.listen(ports.proxy);
  await sink.listen();
  const redisClient = new Redis(redis.url, { maxRetriesPerRequest: 3, lazyConnect: false });
  redisClient.on('error', () => {});
  const templateUrl = await prepareTemplate(pg, redis, ports, sink);

  const results = [];
  try {
    for (const [i, sc] of scenarios.entries()) {
      if (interrupted) throw new Interrupted('interrupted');
      results.push(await runScenario(sc, i, { pg, redis, redisClient, proxy, sink, ports, templateUrl }));
    }
  } finally {
    redisClient.disconnect();
    fs.copyFileSync(pg.logFile, path.join(ARTIFACTS, 'postgres.log'));
  }
  printTable(results);
  fs.writeFileSync(path.join(ARTIFACTS, 'result.json'), `${JSON.stringify({ short: SHORT, rate: RATE, moRate: MO_RATE, results }, null, 2)}\n`);
  return results.every((r) => r.pass);
}

/**
 * A migrated database with the seed (demo partner, the `simulator` SMSC connection pointed at the
 * proxy, service number 4565), set up with the admin CLI for the partner sink; each scenario gets
 * a copy.
 */
async function prepareTemplate(pg, redis, ports, sink) {
  const { runMigrate } = require(path.join(root, 'packages/db/dist/testing'));
  const url = withDatabase(pg.url, 'chaos_template');
  await runMigrate(url);
  const toolEnv = { ...env, ...commonEnv(url, redis), SIM_SMPP_PORT: String(ports.proxy), CALLBACK_ALLOW_PRIVATE_TARGETS: 'true' };
  const steps = [
    ['npm', ['run', '--silent', 'db:seed']],
    [
      process.execPath,
      [
        'apps/admin/dist/main.js',
        'partner',
        'update',
        'demo',
        '--rate-limit',
        '100000',
        '--status-url',
        `http://127.0.0.1:${sink.port}/dlr`,
        '--mo-url',
        `http://127.0.0.1:${sink.port}/mo`,
      ],
    ],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { cwd: root, env: toolEnv, encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${[cmd, ...args].join(' ')} failed: ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  }
  return url;
}

function commonEnv(databaseUrl, redis) {
  return {
    NODE_ENV: 'development',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    REDIS_PREFIX: 'chaos',
    API_PASSWORD_PEPPER: PEPPER,
    LOG_LEVEL,
  };
}

async function runScenario(sc, index, rig) {
  const { pg, redis, redisClient, proxy, sink, ports } = rig;
  const dir = path.join(ARTIFACTS, sc.name);
  fs.mkdirSync(dir, { recursive: true });
  const limitMs = sc.limitMs ?? D.limitMs;
  const result = { scenario: sc.name, what: sc.what, pass: false, problems: [] };
  log(`── ${sc.name}: ${sc.what} (limit ${secs(limitMs)} after the fault's end)`);

  // A clean start: the stores up, Redis empty, a fresh copy of the template database.
  if (!pg.running) await pg.start();
  if (!redis.child || redis.child.exitCode !== null) await redis.start();
  await redisClient.flushall();
  const dbName = `chaos_${index}`;
  const admin = new Pool({ connectionString: pg.url, max: 1 });
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName} TEMPLATE chaos_template`);
  await admin.end();
  const databaseUrl = withDatabase(pg.url, dbName);
  await sink.clear();
  if (!sink.listening) await sink.up();
  if (!proxy.server.listening) await proxy.up();

  const common = { ...env, ...commonEnv(databaseUrl, redis) };
  const simulator = new Supervised({
    name: 'smsc-simulator',
    main: SIMULATOR,
    healthPort: ports.simHttp,
    logFile: path.join(dir, 'smsc-simulator.log'),
    env: {
      ...env,
      LOG_LEVEL,
      SIM_SMPP_HOST: '127.0.0.1',
      SIM_SMPP_PORT: String(ports.simSmpp),
      SIM_HTTP_HOST: '127.0.0.1',
      SIM_HTTP_PORT: String(ports.simHttp),
      SIM_ACCOUNTS: 'smsgw:smsgw',
      SIM_DLR_DELAY_MS: '200',
      // Submits answered after 100 ms, so that the window is never empty when the link is cut.
      SIM_RESPONSE_DELAY_MS: '100',
      // Each receipt and MO is sent once: whatever the platform does not acknowledge is lost.
      SIM_RECEIPT_MAX_ATTEMPTS: '1',
      SIM_RECORD_LIMIT: '1000',
    },
  });
  const services = new Map(
    SERVICES.map((s) => [
      s.name,
      new Supervised({
        name: s.name,
        main: s.main,
        nodeArgs: s.nodeArgs,
        healthPort: ports[s.name],
        logFile: path.join(dir, `${s.name}.log`),
        env: { ...common, CALLBACK_ALLOW_PRIVATE_TARGETS: 'true', ...s.env(String(ports[s.name]), ports) },
      }),
    ]),
  );
  owned.services = [simulator, ...services.values()];
  const worker = services.get('callback-worker');
  const send = new SendLoad({ port: ports['ingress-api'], rate: RATE, tag: sc.name });
  const mo = new MoLoad({ simHttpPort: ports.simHttp, rate: MO_RATE, tag: sc.name, serviceNumber: SERVICE_NUMBER });
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  pool.on('error', () => {});

  const ctx = {
    pg,
    redis,
    proxy,
    sleep,
    kill: (name) => services.get(name).kill9(),
    killAll: () => {
      for (const s of services.values()) s.kill9();
    },
    pgDown: async (ms) => {
      await pg.stop('immediate');
      await sleep(ms);
      const t0 = Date.now();
      await pg.start();
      // Crash recovery replays the WAL since the last checkpoint: the outage is this much longer.
      log(`   PostgreSQL started again after ${secs(ms)} stopped; accepting connections ${((Date.now() - t0) / 1000).toFixed(1)} s later`);
    },
    partnerDown: async (ms) => {
      await sink.down();
      await sleep(ms);
      await sink.up();
    },
    smscDown: async (ms) => {
      await proxy.down();
      await sleep(ms);
      await proxy.up();
    },
  };

  try {
    simulator.start();
    await simulator.healthy(30 * S);
    for (const s of services.values()) s.start();
    await Promise.all([...services.values()].map((s) => s.healthy(90 * S)));
    await waitForBind(ports.simHttp, 60 * S);

    send.start();
    if (MO_RATE > 0) mo.start();
    await sleep(D.preMs);
    const faultStart = Date.now();
    log(`   fault: ${sc.what}`);
    await sc.fault(ctx);
    const faultEnd = Date.now();
    log(`   fault over after ${((faultEnd - faultStart) / 1000).toFixed(1)} s; load goes on for ${secs(D.postMs)}`);
    await sleep(D.postMs);
    await Promise.all([send.stop(), mo.stop()]);
    log(`   load stopped: ${send.accepted.size} accepted, ${send.refusedTotal} refused, ${mo.injected.size} MO injected; waiting for convergence`);

    const deadline = faultEnd + limitMs;
    let t = null;
    let convergedAt = null;
    let lastLog = Date.now();
    for (;;) {
      t = await tally(pool, send, mo, sink, worker.kills).catch((e) => ({ error: e.message }));
      if (t.converged) {
        convergedAt = Date.now();
        break;
      }
      if (Date.now() > deadline) break;
      if (Date.now() - lastLog >= 15 * S) {
        lastLog = Date.now();
        log(t.error ? `   … ${t.error}` : `   … ${t.final}/${t.accepted} final, ${t.reported} reported, MO ${t.moDelivered}/${t.moInjected}`);
      }
      await sleep(1000);
    }
    const details = await finalDetails(pool, send, ports.simHttp, t.duplicateIds ?? [], sink).catch((e) => ({ error: e.message }));
    if (t.error) t = await tally(pool, send, mo, sink, worker.kills);
    Object.assign(result, t, {
      refused: send.refusedTotal,
      refusedBy: Object.fromEntries(send.refused),
      skipped: send.skipped,
      moNotInjected: Object.fromEntries(mo.notInjected),
      convergeMs: convergedAt === null ? null : convergedAt - faultEnd,
      faultStartedAt: new Date(faultStart).toISOString(),
      limitMs,
      restarts: Object.fromEntries([...services.values()].map((s) => [s.name, s.starts - 1])),
      ...details,
    });
    judge(result);
  } catch (e) {
    if (e instanceof Interrupted) throw e;
    result.problems.push(`harness error: ${e.message}`);
    log(`   harness error: ${e.stack || e.message}`);
  } finally {
    send.pacer.stop();
    mo.pacer.stop();
    await Promise.all([...services.values()].map((s) => s.stop()));
    await simulator.stop();
    owned.services = [];
    await pool.end().catch(() => {});
  }
  log(`   ${result.pass ? 'PASS' : 'FAIL'}${result.problems.length ? `: ${result.problems.join('; ')}` : ''}`);
  return result;
}

/** The simulator counts bound sessions: the connector has bound when one is there. */
async function waitForBind(simHttpPort, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const counters = await (await fetch(`http://127.0.0.1:${simHttpPort}/counters`)).json();
      if (Object.values(counters.binds || {}).reduce((a, b) => a + b, 0) > 0) return;
    } catch {
      // not answering yet
    }
    await sleep(200);
  }
  throw new Error(`the connector did not bind to the simulator within ${ms / 1000} s`);
}

/** Where the scenario stands: the counts the pass rule compares. */
async function tally(pool, send, mo, sink, workerKills) {
  await sink.refresh();
  const inFlight = (arrivals) => {
    const first = arrivals?.[0];
    return first !== undefined && workerKills.some((k) => first >= k - IN_FLIGHT.beforeMs && first <= k + IN_FLIGHT.afterMs);
  };
  const ids = [...send.accepted.keys()];
  const { rows } = await pool.query(
    `SELECT count(*)::int AS stored, count(*) FILTER (WHERE status IN (2, 5))::int AS final FROM message WHERE id = ANY($1::bigint[])`,
    [ids],
  );
  let reported = 0;
  let duplicates = 0;
  let duplicatesInFlight = 0;
  const duplicateIds = [];
  for (const id of ids) {
    const byStatus = sink.reports.get(id);
    if (!byStatus) continue;
    const finals = (byStatus.get(2) ?? 0) + (byStatus.get(5) ?? 0);
    if (finals > 0) {
      reported++;
      duplicates += finals - 1;
      if (finals > 1) {
        duplicateIds.push(id);
        if (inFlight(sink.arrivals.get(id))) duplicatesInFlight += finals - 1;
      }
    }
  }
  const texts = [...mo.injected];
  const mo0 = texts.length
    ? (await pool.query('SELECT count(DISTINCT text)::int AS n, count(*)::int AS rows FROM mo_message WHERE text = ANY($1::text[])', [texts])).rows[0]
    : { n: 0, rows: 0 };
  const moStored = mo0.n;
  let moDelivered = 0;
  let moDuplicates = 0;
  let moDuplicatesInFlight = 0;
  for (const text of texts) {
    const byId = sink.mo.get(text);
    if (!byId) continue;
    moDelivered++;
    let n = 0;
    for (const v of byId.values()) n += v;
    moDuplicates += n - 1;
    if (n > 1 && inFlight(sink.moArrivals.get(text))) moDuplicatesInFlight += n - 1;
  }
  const t = { accepted: ids.length, stored: rows[0].stored, final: rows[0].final, reported, duplicates, duplicatesInFlight, duplicateIds, moInjected: texts.length, moStored, moStoredTwice: mo0.rows - mo0.n, moDelivered, moDuplicates, moDuplicatesInFlight };
  t.converged = t.accepted > 0 && t.stored === t.accepted && t.final === t.accepted && t.reported === t.accepted && t.moDelivered === t.moInjected;
  return t;
}

/**
 * Clues for a failed scenario: the statuses of the unfinished messages, whether their segments got
 * an SMSC id, receipts that matched no segment, rows stored without an OK answer, and what the
 * simulator says it sent, had acknowledged and dropped.
 */
async function finalDetails(pool, send, simHttpPort, duplicateIds, sink) {
  const ids = [...send.accepted.keys()];
  const q = async (sql, params = []) => (await pool.query(sql, params)).rows;
  const notFinal = await q('SELECT status, count(*)::int AS n FROM message WHERE id = ANY($1::bigint[]) AND status NOT IN (2, 5) GROUP BY status ORDER BY status', [ids]);
  const parts = (
    await q(
      `SELECT count(*) FILTER (WHERE p.smsc_message_id IS NOT NULL)::int AS with_id, count(*) FILTER (WHERE p.smsc_message_id IS NULL)::int AS without_id
       FROM message m JOIN message_part p ON p.message_id = m.id WHERE m.id = ANY($1::bigint[]) AND m.status NOT IN (2, 5)`,
      [ids],
    )
  )[0];
  const unmatched = (await q('SELECT count(*)::int AS n FROM unmatched_receipt'))[0].n;
  const unanswered = (await q('SELECT count(*)::int AS n FROM message WHERE NOT (id = ANY($1::bigint[]))', [ids]))[0].n;
  let smsc = null;
  try {
    const c = await (await fetch(`http://127.0.0.1:${simHttpPort}/counters`)).json();
    smsc = { submits: c.submits, receipts: c.receipts, mo: c.mo };
  } catch {
    // the figures are clues only
  }
  // What the platform recorded of the reports the partner got twice: which attempts, when.
  const duplicated = duplicateIds.slice(0, 20);
  const duplicateAttempts = duplicated.length
    ? await q(
        `SELECT message_id::text AS id, status, attempt, attempted_at, http_status, error FROM callback_attempt
         WHERE kind = 'dlr' AND message_id = ANY($1::bigint[]) ORDER BY message_id, attempted_at`,
        [duplicated],
      )
    : [];
  // And when the partner got them: a first copy just before a kill was a push in flight.
  const duplicateArrivals = Object.fromEntries(duplicated.map((id) => [id, (sink.arrivals.get(id) ?? []).map((ms) => new Date(ms).toISOString())]));
  return {
    duplicateAttempts,
    duplicateArrivals,
    notFinalByStatus: Object.fromEntries(notFinal.map((r) => [r.status, r.n])),
    notFinalParts: { withSmscId: parts.with_id, withoutSmscId: parts.without_id },
    unmatchedReceipts: unmatched,
    storedWithoutOk: unanswered,
    smsc,
  };
}

function judge(r) {
  if (r.accepted === 0) r.problems.push('no message accepted');
  if (r.stored < r.accepted) r.problems.push(`${r.accepted - r.stored} accepted but not stored`);
  if (r.final < r.stored) {
    const by = Object.entries(r.notFinalByStatus || {})
      .map(([s, n]) => `${n} at status ${s}`)
      .join(', ');
    const p = r.notFinalParts;
    const clues = [by || '?'];
    if (p) clues.push(`their segments: ${p.withSmscId} with an SMSC id, ${p.withoutSmscId} without`);
    if (r.unmatchedReceipts) clues.push(`${r.unmatchedReceipts} receipts matched no segment`);
    if (r.smsc?.receipts?.failed) clues.push(`the SMSC dropped ${r.smsc.receipts.failed} receipts answered with an error or not at all`);
    r.problems.push(`${r.stored - r.final} not final (${clues.join('; ')})`);
  }
  if (r.reported < r.final) r.problems.push(`${r.final - r.reported} final without a report at the partner`);
  if (r.moStored < r.moInjected) {
    const dropped = r.smsc?.mo?.failed ? ` (the SMSC had ${r.smsc.mo.failed} MO answered with an error or not at all)` : '';
    r.problems.push(`${r.moInjected - r.moStored} MO injected but not stored${dropped}`);
  }
  if (r.moDelivered < r.moStored) r.problems.push(`${r.moStored - r.moDelivered} MO stored but not delivered`);
  if (r.reported > 0 && r.duplicates / r.reported > MAX_DUPLICATE_SHARE) {
    r.problems.push(`${r.duplicates} duplicate reports (${((100 * r.duplicates) / r.reported).toFixed(2)} %, ${r.duplicatesInFlight} in flight at a kill)`);
  }
  const moAvoidable = r.moDuplicates - r.moDuplicatesInFlight;
  if (r.moDelivered > 0 && moAvoidable / r.moDelivered > MAX_DUPLICATE_SHARE) {
    const twice = r.moStoredTwice ? `; ${r.moStoredTwice} of them stored twice` : '';
    r.problems.push(`${moAvoidable} duplicate MO not in flight at a kill (${((100 * moAvoidable) / r.moDelivered).toFixed(2)} %${twice})`);
  }
  if (r.convergeMs === null) r.problems.push(`not converged within ${secs(r.limitMs)} of the fault's end`);
  r.pass = r.problems.length === 0;
}

function dupCell(n, inFlight) {
  if (n === undefined) return '-';
  return inFlight ? `${n} (${inFlight})` : String(n);
}

function printTable(results) {
  const head = ['scenario', 'accepted', 'refused', 'stored', 'final', 'reported', 'dup', 'MO in', 'MO stored', 'MO out', 'MO dup', 'converge', 'result'];
  const rows = results.map((r) => [
    r.scenario,
    r.accepted ?? '-',
    r.refused ?? '-',
    r.stored ?? '-',
    r.final ?? '-',
    r.reported ?? '-',
    dupCell(r.duplicates, r.duplicatesInFlight),
    r.moInjected ?? '-',
    r.moStored ?? '-',
    r.moDelivered ?? '-',
    dupCell(r.moDuplicates, r.moDuplicatesInFlight),
    r.convergeMs === null || r.convergeMs === undefined ? `> ${secs(r.limitMs ?? D.limitMs)}` : `${(r.convergeMs / 1000).toFixed(1)} s`,
    r.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  const out = ['', line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  for (const r of results) if (!r.pass) out.push(`${r.scenario}: ${r.problems.join('; ')}`);
  out.push('dup (n): n of them in flight at a kill -9 of the callback worker (answered by the partner, never read by the worker)');
  out.push(`converge: from the fault's end until every accepted message was final and reported and every MO delivered; logs in ${path.relative(root, ARTIFACTS)}/`, '');
  process.stdout.write(out.join('\n'));
}

let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    interrupted = true;
    if (++signals > 1) process.exit(130); // the exit handler still cleans up
    process.stderr.write(`${TOOL}: ${signal}, stopping and cleaning up (again to force)\n`);
  });
}
process.on('exit', cleanupSync);

main()
  .then(async (ok) => {
    await shutdown();
    process.exit(ok ? 0 : 1);
  })
  .catch(async (e) => {
    if (e instanceof Interrupted) process.stderr.write(`${TOOL}: interrupted\n`);
    else process.stderr.write(`${TOOL} failed: ${e.stack || e.message}\n`);
    await shutdown().catch(() => {});
    process.exit(e instanceof Interrupted ? 130 : 1);
  });

async function shutdown() {
  await Promise.all(owned.services.map((s) => s.stop(5000)));
  owned.services = [];
  owned.proxy?.close();
  owned.sink?.close();
  await owned.redis?.destroy();
  await owned.pg?.destroy();
  if (owned.tmp) fs.rmSync(owned.tmp, { recursive: true, force: true });
  owned.redis = owned.pg = owned.tmp = null;
}
