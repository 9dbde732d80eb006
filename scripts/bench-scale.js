// `npm run bench:scale`: what more instances of a stage cost and give, on one machine. The platform
// runs as `npm start` runs it (scripts/start.js: every service once, with its node options) on a
// bench database, Redis prefix and ports, bound to the SMSC simulator; for each configuration of
// BENCH_SCALE_STEPS the bench starts the extra instances it asks for (the same dist/main.js and
// node options, the same environment, a port of their own for /health or /metrics; the ingress
// instances share the partner port through INGRESS_REUSE_PORT) and stops those it does not. Then
// wrk sends /send (bench:kannel's load: a unique number and partnerMsgId per request, every message
// asking for a delivery report to a local sink) for a short warm-up, then nothing for
// BENCH_IDLE_SECONDS (each kind's CPU at rest), then a measured BENCH_SECONDS, and the bench waits
// until every accepted message's report reached the sink.
//
// Printed per run: accepted/s, reports/s at the sink, CPU ms per accepted message of each kind of
// process (the sum over its instances, from /proc), PostgreSQL's (the backends serving the bench
// database, and the server's shared processes) and Redis's (redis-server), the total, and the
// share of the machine's CPUs the run used, beside how busy the whole machine was (/proc/stat: the
// difference is someone else's work); each kind's CPU at rest (ms/s) and its CPU per message net
// of that rest (what a message adds, apart from what an instance costs by running); PostgreSQL's
// WAL bytes per message, and at the end what the store grew by per message. Each configuration runs BENCH_ROUNDS times, alternating, so
// that a slow patch of a shared machine does not land on one configuration only. The figure to
// rely on is CPU per message: throughput on a shared machine is whatever the others leave.
// Everything started is stopped at the end; the bench database, Redis keys, journals and temp
// files are removed.
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const lib = require('./lib/services');
const { startSink } = require('./lib/dlr-sink');
const load = require('./lib/wrk-load');
const { launchPlatform, spawnStartJs } = require('./lib/platform');

const { root } = lib;
const env = process.env;

function fail(message) {
  process.stderr.write(`bench:scale: ${message}\n`);
  process.exit(2);
}
const say = (line) => process.stdout.write(`${line}\n`);
const int = (name, fallback, min) => lib.intSetting(env, name, fallback, min, fail);

const seconds = int('BENCH_SECONDS', 15, 1);
/** Warm-up before each run: long enough for a freshly started instance's JIT to settle at a few hundred messages/s. */
const warmupSeconds = int('BENCH_WARMUP_SECONDS', 10, 1);
const rounds = int('BENCH_ROUNDS', 2, 1);
/** Before each measured run: this long without load, for each kind's CPU at rest (timers, polls, health checks). */
const idleSeconds = int('BENCH_IDLE_SECONDS', 5, 1);
const connections = int('BENCH_CONNECTIONS', 32, 1);
const threads = int('BENCH_THREADS', 2, 1);
/** Requests/s offered in all (0: as fast as the answers come). */
const rate = int('BENCH_RATE', 0, 0);
const dlrDelayMs = int('BENCH_DLR_DELAY_MS', 200, 0);
const smscWindow = int('BENCH_SMSC_WINDOW', 100, 1);
const portBase = int('BENCH_PORT_BASE', 19500, 1024);
const drainTimeoutS = int('BENCH_DRAIN_TIMEOUT_S', 120, 1);
const logLevel = env.BENCH_LOG_LEVEL || 'warn';
const adminUrl = env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
const benchDb = 'smsgw_bench_scale';
const prefix = 'smsgwbenchscale';
const PORTS = lib.platformPorts(portBase);
/** Extra instances' own ports: /metrics of an ingress (its partner port is shared), /health of a worker. */
const EXTRA_PORT_BASE = portBase + 20;
if (connections < threads) fail(`BENCH_CONNECTIONS (${connections}) must be at least BENCH_THREADS (${threads})`);

/** The stages this bench runs more of, and the variable that moves an extra instance's own HTTP port. */
const SCALABLE = {
  'ingress-api': 'METRICS_PORT',
  'callback-worker': 'CALLBACK_HTTP_PORT',
  scheduler: 'SCHEDULER_HTTP_PORT',
};
const scaled = (env.BENCH_SCALE_SERVICES || 'ingress-api,callback-worker').split(',').map((s) => s.trim()).filter(Boolean);
for (const s of scaled) checkService(s);

function checkService(s) {
  if (s === 'smsc-connector') fail('smsc-connector runs as one instance: each instance binds every enabled SMSC connection with its own window (docs/scaling.md)');
  if (!(s in SCALABLE)) fail(`"${s}" cannot be scaled by this bench; use ${Object.keys(SCALABLE).join(', ')}`);
  return s;
}

/**
 * BENCH_SCALE_STEPS: configurations separated by commas; each a number (instances of every
 * BENCH_SCALE_SERVICES service) or `service=N` pairs joined by `+` (unnamed services: 1).
 */
const steps = (env.BENCH_SCALE_STEPS || '1,2').split(',').map((step) => {
  const counts = Object.fromEntries(Object.keys(SCALABLE).map((s) => [s, 1]));
  const text = step.trim();
  if (/^\d+$/.test(text)) {
    if (Number(text) < 1 || Number(text) > 10) fail(`BENCH_SCALE_STEPS: "${text}" must be from 1 to 10`);
    for (const s of scaled) counts[s] = Number(text);
  } else {
    for (const pair of text.split('+')) {
      const m = /^([a-z-]+)=(\d+)$/.exec(pair.trim());
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 10) fail(`BENCH_SCALE_STEPS: "${pair}" is not service=N (N from 1 to 10)`);
      checkService(m[1]);
      counts[m[1]] = Number(m[2]);
    }
  }
  const label = Object.entries(counts).filter(([, n]) => n > 1).map(([s, n]) => `${s}×${n}`).join(' ') || 'one of each';
  return { label, counts };
});

/** The simulator, as bench:kannel sets it: no TPS limit, receipts after BENCH_DLR_DELAY_MS, every message delivered. */
const SIM_ENV = {
  SIM_SMPP_HOST: '127.0.0.1',
  SIM_HTTP_HOST: '127.0.0.1',
  SIM_ACCOUNTS: 'smsgw:smsgw',
  SIM_TPS: '0',
  SIM_WINDOW: String(smscWindow),
  SIM_DELIVER_WINDOW: String(smscWindow),
  SIM_DLR_DELAY_MS: String(dlrDelayMs),
  SIM_OUTCOMES: 'DELIVRD=1',
  SIM_RECORD_LIMIT: '1000',
};

/** Kinds of process in the tables, in pipeline order; `platform` sums the gateway's own (no SMSC, no load). */
const SERVICES = ['ingress-api', 'smsc-connector', 'callback-worker', 'scheduler', 'smpp-server', 'portal'];
const STORES = ['postgres backends', 'postgres shared', 'redis-server'];

// ---------------------------------------------------------------------------------------------
// Extra instances
// ---------------------------------------------------------------------------------------------
/** service -> [{ child, port }] started by this bench (start.js's own instance not among them). */
const extras = Object.fromEntries(Object.keys(SCALABLE).map((s) => [s, []]));
/** The own port of a service's extra instance number `slot` (0: the first extra): ten per service. */
const extraPort = (service, slot) => EXTRA_PORT_BASE + Object.keys(SCALABLE).indexOf(service) * 10 + slot;

async function startExtra(platform, service) {
  const port = extraPort(service, extras[service].length);
  const name = `${service} #${extras[service].length + 2}`;
  const child = spawn(process.execPath, [...(lib.NODE_ARGS[service] || []), path.join(root, 'apps', service, 'dist', 'main.js')], {
    cwd: root,
    env: { ...platform.env, [SCALABLE[service]]: String(port), METRICS_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  lib.prefixOutput(child, name);
  extras[service].push({ child, port });
  const alive = () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.signalCode ?? child.exitCode}); see its lines above`);
  };
  if (service === 'ingress-api') {
    // Its /health is on the shared partner port, answered by whichever instance takes the
    // connection: its own /metrics port says it runs; the warm-up gives it the moment it needs
    // to load the partners (it answers 503 until then, counted as not accepted).
    await lib.waitForPort(port, 60000, alive);
  } else {
    await lib.waitForHealth(name, port, 60000, alive);
  }
}

async function stopExtra(service) {
  const { child } = extras[service].pop();
  await lib.stopChildren([child]);
}

/** Starts and stops extra instances until each service runs `counts[service]` (start.js's included). */
async function applyCounts(platform, counts) {
  for (const service of Object.keys(SCALABLE)) {
    while (extras[service].length + 1 > counts[service]) await stopExtra(service);
    while (extras[service].length + 1 < counts[service]) await startExtra(platform, service);
  }
}

// ---------------------------------------------------------------------------------------------
// One measured run
// ---------------------------------------------------------------------------------------------
async function simulatorSubmits() {
  return (await (await fetch(`http://127.0.0.1:${PORTS.simHttp}/counters`)).json()).submits;
}

const walLsn = async (platform) => (await platform.pool.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
const walSince = async (platform, lsn) => Number((await platform.pool.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS n', [lsn])).rows[0].n);

/** The bench database's size on disk (tables, indexes, TOAST) and its messages. */
async function storeSize(platform) {
  const { rows } = await platform.pool.query(`SELECT pg_database_size(current_database())::bigint AS bytes, (SELECT count(*) FROM message)::bigint AS n`);
  return { bytes: Number(rows[0].bytes), messages: Number(rows[0].n) };
}

/** Waits until `tag` has a report for each of `accepted` messages, or none came for BENCH_DRAIN_TIMEOUT_S. */
async function drain(sink, tag, accepted, check) {
  let st = await sink.stats(tag);
  let progressAt = Date.now();
  let lastN = st.n;
  while (st.unique < accepted && Date.now() - progressAt < drainTimeoutS * 1000) {
    check();
    await lib.sleep(100);
    st = await sink.stats(tag);
    if (st.n !== lastN) {
      lastN = st.n;
      progressAt = Date.now();
    }
  }
  return st;
}

async function measure(ctx, step, round) {
  const { platform, sink, tracker } = ctx;
  const check = () => {
    platform.check();
    for (const list of Object.values(extras)) for (const { child } of list) if (child.exitCode !== null || child.signalCode !== null) throw new Error('an extra instance exited; see its lines above');
  };
  await applyCounts(platform, step.counts);
  const login = `bench-${step.index}-${round}`;
  const wrkArgs = { dir: ctx.tmpDir, port: PORTS.ingress, mode: 'platform', threads, connections, sinkPort: sink.port, runTag: ctx.runTag, pacedRate: rate, onStart: (c) => (ctx.load = c), onEnd: () => (ctx.load = null) };
  // Warm-up: new instances load their partners and warm their code; its reports are waited for, so
  // that the measured run starts with an idle pipeline.
  const warm = await load.runWrk({ ...wrkArgs, tag: `${login}-warm`, login: `${login}-warm`, seconds: warmupSeconds });
  await drain(sink, `${login}-warm`, warm.ok, check);
  await lib.sleep(1000);
  // At rest: what each kind of process costs per second with no message to carry.
  const idle0 = await tracker.totals();
  const idleT0 = Date.now();
  await lib.sleep(idleSeconds * 1000);
  const idle1 = await tracker.totals();
  const idleMsPerSecond = {};
  for (const name of Object.keys(idle1)) idleMsPerSecond[name] = (idle1[name] - (idle0[name] ?? 0)) / ((Date.now() - idleT0) / 1000);

  const loadAverage = os.loadavg()[0];
  const cpu0 = await tracker.totals();
  const machine0 = lib.machineCpuMs();
  const submits0 = await simulatorSubmits();
  const wal0 = await walLsn(platform);
  const w = await load.runWrk({ ...wrkArgs, tag: login, login, seconds });
  const st = await drain(sink, login, w.ok, check);
  // A moment for late duplicates before the figures are read.
  await lib.sleep(1000);
  const final = await sink.stats(login);
  const cpu1 = await tracker.totals();
  const machine1 = lib.machineCpuMs();
  const submits = (await simulatorSubmits()) - submits0;
  const walBytes = await walSince(platform, wal0);
  const windowS = (Date.now() - w.t0) / 1000;

  const accepted = w.ok;
  const perMsg = {};
  for (const name of Object.keys(cpu1)) perMsg[name] = accepted ? (cpu1[name] - (cpu0[name] ?? 0)) / accepted : null;
  if (w.wrkCpuMs !== null && accepted) perMsg.wrk = w.wrkCpuMs / accepted;
  // Net of rest: per message, minus what the kind would have used in the window without load.
  const netPerMsg = {};
  for (const name of Object.keys(perMsg)) if (name in idleMsPerSecond && accepted) netPerMsg[name] = perMsg[name] - (idleMsPerSecond[name] * windowS) / accepted;
  const sum = (names, from = perMsg) => names.reduce((t, n) => t + (from[n] ?? 0), 0);
  const platformMs = sum([...SERVICES, ...STORES]);
  const cpus = os.cpus().length;
  const oursMs = (platformMs + sum(['smsc-simulator', 'sink', 'wrk'])) * accepted;
  const r = {
    step: step.label,
    counts: step.counts,
    round,
    loadAverage: Number(loadAverage.toFixed(2)),
    accepted,
    notAccepted: w.bad,
    connectionErrors: w.connectErrors + w.readErrors + w.writeErrors + w.timeouts,
    acceptedPerSecond: Math.round(accepted / ((w.t1 - w.t0) / 1000)),
    latencyMs: { p50: w.p50Us / 1000, p99: w.p99Us / 1000 },
    smscSubmits: submits,
    reports: final.unique,
    reportsPerSecond: st.last ? Math.round(final.unique / ((st.last - w.t0) / 1000)) : null,
    loadEndToLastReportSeconds: st.last ? Number(((st.last - w.t1) / 1000).toFixed(2)) : null,
    exactlyOneReportPerAccepted: final.unique === accepted && final.n === accepted && final.duplicates === 0 && final.noId === 0 && final.foreign === 0,
    windowSeconds: Number(windowS.toFixed(1)),
    /** WAL PostgreSQL wrote over the window per accepted message (the whole server's: an upper bound on a shared one). */
    walBytesPerAccepted: accepted ? Math.round(walBytes / accepted) : null,
    cpuMsPerAccepted: Object.fromEntries(Object.entries(perMsg).map(([k, v]) => [k, v === null ? null : Number(v.toFixed(4))])),
    postgresMsPerAccepted: Number(sum(['postgres backends', 'postgres shared']).toFixed(4)),
    /** CPU ms per second of each kind at rest, just before the run. */
    idleMsPerSecond: Object.fromEntries(Object.entries(idleMsPerSecond).map(([k, v]) => [k, Number(v.toFixed(2))])),
    /** CPU ms per message net of the kind's rest over the window. */
    netMsPerAccepted: Object.fromEntries(Object.entries(netPerMsg).map(([k, v]) => [k, Number(v.toFixed(4))])),
    netPostgresMsPerAccepted: Number(sum(['postgres backends', 'postgres shared'], netPerMsg).toFixed(4)),
    // The stages that carry the messages: the idle ones' (scheduler, SMPP server, portal) net is noise around 0.
    netPlatformMsPerAccepted: Number(sum([...SERVICES.slice(0, 3), ...STORES], netPerMsg).toFixed(4)),
    platformMsPerAccepted: Number(platformMs.toFixed(4)),
    /** Share of all the machine's CPUs this bench's processes (the platform, PostgreSQL, Redis, the simulator, wrk, the sink) used over the window. */
    benchCpuShare: Number((oursMs / (windowS * 1000 * cpus)).toFixed(3)),
    /** Share of all the machine's CPUs busy over the window, whoever used them. */
    machineBusyShare: Number(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)).toFixed(3)),
  };
  return r;
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------
const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? '-' : typeof v === 'number' ? v.toFixed(d) : String(v));

function printRun(r) {
  const cpu = (n) => fmt(r.cpuMsPerAccepted[n], 3);
  say(
    `  accepted ${r.accepted} (${r.acceptedPerSecond}/s; not accepted ${r.notAccepted}, connection errors ${r.connectionErrors}), latency p50 ${fmt(r.latencyMs.p50, 1)} p99 ${fmt(r.latencyMs.p99, 1)} ms; ` +
      `reports ${r.reports} (${fmt(r.reportsPerSecond)}/s, load end → last ${fmt(r.loadEndToLastReportSeconds, 1)} s), exactly one per accepted: ${r.exactlyOneReportPerAccepted ? 'yes' : 'NO'}\n` +
      `  CPU ms/msg: ${SERVICES.map((n) => `${n} ${cpu(n)}`).join(', ')}; PostgreSQL ${fmt(r.postgresMsPerAccepted, 3)} (backends ${cpu('postgres backends')}, shared ${cpu('postgres shared')}), Redis ${cpu('redis-server')}; ` +
      `platform total ${fmt(r.platformMsPerAccepted, 3)}; simulator ${cpu('smsc-simulator')}, load (wrk + sink) ${fmt((r.cpuMsPerAccepted.wrk ?? 0) + (r.cpuMsPerAccepted.sink ?? 0), 3)}\n` +
      `  at rest before it, CPU ms/s: ${[...SERVICES, 'postgres backends', 'postgres shared', 'redis-server'].map((n) => `${n} ${fmt(r.idleMsPerSecond[n], 1)}`).join(', ')}; ` +
      `net of rest, CPU ms/msg: ${SERVICES.slice(0, 3).map((n) => `${n} ${fmt(r.netMsPerAccepted[n], 3)}`).join(', ')}, PostgreSQL ${fmt(r.netPostgresMsPerAccepted, 3)}, Redis ${fmt(r.netMsPerAccepted['redis-server'], 3)}, these five ${fmt(r.netPlatformMsPerAccepted, 3)}\n` +
      `  CPUs used by the bench ${fmt(r.benchCpuShare * 100)} %, machine busy ${fmt(r.machineBusyShare * 100)} % over ${r.windowSeconds} s; load average ${fmt(r.loadAverage, 1)} at the start; ` +
      `PostgreSQL WAL ${fmt(r.walBytesPerAccepted)} bytes/msg`,
  );
}

/** Per configuration: the mean over its rounds, and the lowest and highest. */
function summary(results) {
  const rows = [];
  const add = (label, get, d = 0) => {
    rows.push([
      label,
      ...steps.map((s) => {
        const v = results.filter((r) => r.step === s.label).map(get).filter((x) => typeof x === 'number');
        if (v.length === 0) return '-';
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        return v.length > 1 ? `${fmt(mean, d)} (${fmt(Math.min(...v), d)}–${fmt(Math.max(...v), d)})` : fmt(mean, d);
      }),
    ]);
  };
  add('load average at start', (r) => r.loadAverage, 1);
  add('accepted/s', (r) => r.acceptedPerSecond);
  add('reports/s at the sink', (r) => r.reportsPerSecond);
  for (const n of SERVICES) add(`CPU ms/msg ${n}`, (r) => r.cpuMsPerAccepted[n], 3);
  add('CPU ms/msg PostgreSQL', (r) => r.postgresMsPerAccepted, 3);
  add('  of it backends', (r) => r.cpuMsPerAccepted['postgres backends'], 3);
  add('  of it shared processes', (r) => r.cpuMsPerAccepted['postgres shared'], 3);
  add('CPU ms/msg Redis', (r) => r.cpuMsPerAccepted['redis-server'], 3);
  add('CPU ms/msg platform total', (r) => r.platformMsPerAccepted, 3);
  add('CPU ms/msg simulator', (r) => r.cpuMsPerAccepted['smsc-simulator'], 3);
  for (const n of SERVICES.slice(0, 4)) add(`at rest, CPU ms/s ${n}`, (r) => r.idleMsPerSecond[n], 1);
  add('at rest, CPU ms/s PostgreSQL', (r) => (r.idleMsPerSecond['postgres backends'] ?? 0) + (r.idleMsPerSecond['postgres shared'] ?? 0), 1);
  add('at rest, CPU ms/s Redis', (r) => r.idleMsPerSecond['redis-server'], 1);
  for (const n of SERVICES.slice(0, 3)) add(`net of rest, CPU ms/msg ${n}`, (r) => r.netMsPerAccepted[n], 3);
  add('net of rest, CPU ms/msg PostgreSQL', (r) => r.netPostgresMsPerAccepted, 3);
  add('net of rest, CPU ms/msg Redis', (r) => r.netMsPerAccepted['redis-server'], 3);
  add('net of rest, CPU ms/msg the five above', (r) => r.netPlatformMsPerAccepted, 3);
  add('CPU ms/msg load (wrk + sink)', (r) => (r.cpuMsPerAccepted.wrk ?? 0) + (r.cpuMsPerAccepted.sink ?? 0), 3);
  add('PostgreSQL WAL bytes/msg', (r) => r.walBytesPerAccepted);
  add('CPUs used by the bench %', (r) => r.benchCpuShare * 100);
  add('machine busy %', (r) => r.machineBusyShare * 100);
  const header = ['', ...steps.map((s) => s.label)];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ').trimEnd();
  say(line(header));
  for (const r of rows) say(line(r));
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
const ctx = { emptyStoreBytes: 0, platform: null, sink: null, tracker: null, tmpDir: null, load: null, runTag: crypto.randomBytes(3).toString('hex') };

async function main() {
  if (spawnSync('wrk', ['--version']).error) fail('wrk is missing: apt-get install wrk');
  for (const app of [...lib.START_SERVICES, 'admin']) if (!fs.existsSync(path.join(root, 'apps', app, 'dist', 'main.js'))) fail(`apps/${app} is not built: npm run build`);
  const { preflight } = require('./preflight');
  const problem = await preflight();
  if (problem) fail(problem);
  const extraPorts = Object.keys(SCALABLE).flatMap((service) => Array.from({ length: Math.max(...steps.map((s) => s.counts[service])) - 1 }, (_, slot) => extraPort(service, slot)));
  for (const port of [...Object.values(PORTS), ...extraPorts]) {
    if (!(await lib.portFree(port))) fail(`port ${port} is in use; set BENCH_PORT_BASE to the start of free ports (now ${portBase})`);
  }

  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  say(
    `bench:scale: ${steps.map((s) => s.label).join(' / ')}, ${rounds} rounds alternating; wrk ${threads} threads, ${connections} keep-alive connections, ` +
      `${rate ? `${rate} requests/s` : 'as fast as answered'}, ${seconds} s (warm-up ${warmupSeconds} s); receipts after ${dlrDelayMs} ms, SMSC window ${smscWindow}.\n` +
      `Machine: ${os.cpus().length} × ${cpuModel}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );
  ctx.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgw-bench-scale-'));
  load.writeLoadScript(ctx.tmpDir);
  ctx.sink = await startSink(ctx.runTag);
  ctx.platform = await launchPlatform({
    adminUrl,
    redisUrl,
    benchDb,
    prefix,
    ports: PORTS,
    // Every ingress instance, start.js's too, shares the partner port.
    env: { ...env, ...SIM_ENV, SIM_SMPP_PORT: String(PORTS.simSmpp), SIM_HTTP_PORT: String(PORTS.simHttp), LOG_LEVEL: logLevel, INGRESS_REUSE_PORT: 'true' },
    spawnStart: (platformEnv) => spawnStartJs(platformEnv),
    say: (line) => say(`bench:scale: ${line}`),
  });
  const { platform, sink } = ctx;
  platform.adminCli(['smsc', 'update', 'simulator', '--tps', '100000', '--window', String(smscWindow)]);
  steps.forEach((s, i) => (s.index = i + 1));
  for (const s of steps) {
    for (let round = 1; round <= rounds; round++) {
      for (const login of [`bench-${s.index}-${round}`, `bench-${s.index}-${round}-warm`]) {
        platform.adminCli([
          'partner', 'create', '--login', login, '--password', 'bench-pass', '--allowed-ips', '127.0.0.1,::1', '--senders', 'BENCH', '--default-sender', 'BENCH',
          '--rate-limit', '100000', '--status-url', `http://127.0.0.1:${sink.port}/dlr/${login}`,
        ]);
      }
    }
  }
  await lib.sleep(2000); // the connector applies the new window in place; the bind settles
  ctx.emptyStoreBytes = (await storeSize(platform)).bytes;
  ctx.tracker = lib.cpuTracker(async () => {
    const groups = platform.services();
    for (const [service, list] of Object.entries(extras)) groups[service] = [...(groups[service] ?? []), ...list.map((e) => e.child.pid)];
    const pg = await platform.postgresPids();
    groups['postgres backends'] = pg.backends;
    groups['postgres shared'] = pg.shared;
    if (platform.redisPid) groups['redis-server'] = [platform.redisPid];
    groups.sink = [sink.pid];
    return groups;
  });

  const results = [];
  for (let round = 1; round <= rounds; round++) {
    for (const step of steps) {
      say(`\n== ${step.label}, round ${round}: ${Object.entries(step.counts).map(([s, n]) => `${s} ${n}`).join(', ')}; smsc-connector 1`);
      const r = await measure(ctx, step, round);
      printRun(r);
      results.push(r);
    }
  }
  ctx.tracker.stop();
  const stored = await storeSize(platform);
  const store = { messages: stored.messages, grewBytes: stored.bytes - ctx.emptyStoreBytes, bytesPerMessage: stored.messages ? Math.round((stored.bytes - ctx.emptyStoreBytes) / stored.messages) : null };

  say(`\n== Summary (${new Date().toISOString().slice(0, 16)}Z, ${os.cpus().length} CPUs, load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}): mean (lowest–highest) over ${rounds} rounds`);
  summary(results);
  say(`The bench database grew by ${fmt(store.grewBytes / 2 ** 20)} MiB for ${store.messages} messages: ${fmt(store.bytesPerMessage)} bytes per message (tables, indexes, segments, callback attempts; a small store, so a rough figure).`);
  say(
    JSON.stringify({
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: cpuModel, memGiB: Math.round(os.totalmem() / 2 ** 30) },
      settings: { steps: steps.map((s) => s.counts), rounds, seconds, idleSeconds, warmupSeconds, connections, threads, rate, dlrDelayMs, smscWindow },
      results,
      store,
    }),
  );
  if (results.some((r) => !r.exactlyOneReportPerAccepted || r.accepted === 0)) process.exitCode = 1;
}

let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    if (ctx.load) ctx.load.kill('SIGKILL');
    ctx.tracker?.stop();
    await lib.stopChildren(Object.values(extras).flatMap((list) => list.map((e) => e.child)));
    if (ctx.platform) await ctx.platform.stop().catch((e) => process.stderr.write(`bench:scale: stopping: ${e.message}\n`));
    ctx.sink?.close();
    if (ctx.tmpDir) fs.rmSync(ctx.tmpDir, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    process.stderr.write(`bench:scale: ${signal}, stopping everything it started\n`);
    cleanup().finally(() => process.exit(130));
  });
}

main()
  .catch((e) => {
    process.stderr.write(`bench:scale failed: ${e.stack || e.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
