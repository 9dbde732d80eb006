// `npm run bench:kannel`: the throughput race with Kannel, side by side in one run on one machine.
// One after the other, each from a wiped state, with the same wrk load (BENCH_THREADS threads,
// BENCH_CONNECTIONS keep-alive connections, BENCH_SECONDS seconds; a different destination number
// and a unique id per request, every message asking for a delivery report to the same local sink):
//   A  Kannel (bearerbox + smsbox) with `smsc = fake` and Kannel's fakesmsc: Kannel's best case,
//      no SMPP. The fake SMSC connection itself reports "delivered" (type 1) when it has written
//      the message to fakesmsc; there is no receipt from an SMSC.
//   B  Kannel with `smsc = smpp` bound to the project's SMSC simulator.
//   C  The platform exactly as `npm start` runs it (scripts/start.js: migrate, seed, every
//      built service with its node options), on a bench database and Redis prefix and bench
//      ports, bound to the same simulator settings.
// Per system: a warm-up (not measured), the timed run, a paced run at BENCH_PACED_PERCENT (80) % of
// the timed run's accepted/s for BENCH_PACED_SECONDS (15; wrk's delay() spaces each thread's
// requests), then a fixed-N run (BENCH_FIXED requests, timed from the first request to the last
// delivery report at the sink). At the end: the table, the platform / Kannel ratios, and each
// target of the race with its verdict. The sink is a separate
// Node process counting reports by the id the request carried. Everything started is stopped at
// the end, and the temp directory, bench database and Redis keys are removed.
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const lib = require('./lib/services');
const { startSink } = require('./lib/dlr-sink');
const load = require('./lib/wrk-load');
const { launchPlatform } = require('./lib/platform');

const { TEXT } = load;

const root = path.resolve(__dirname, '..');
const env = process.env;

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------
const int = (name, fallback, min) => lib.intSetting(env, name, fallback, min, fail);
const seconds = int('BENCH_SECONDS', 20, 1);
const connections = int('BENCH_CONNECTIONS', 32, 1);
const threads = int('BENCH_THREADS', 2, 1);
const warmupSeconds = int('BENCH_WARMUP_SECONDS', 3, 0);
const fixedN = int('BENCH_FIXED', 20000, 0);
/** The paced run: BENCH_PACED_PERCENT of the timed run's accepted/s, for BENCH_PACED_SECONDS (0: no paced run). */
const pacedSeconds = int('BENCH_PACED_SECONDS', 15, 0);
const pacedPercent = int('BENCH_PACED_PERCENT', 80, 1);
/**
 * Growth (the platform only): BENCH_PRELOAD messages (delivered, each with its segment, spread over
 * the last 30 days, a partner of their own) are stored before the runs, so the tables are as large
 * as after months of traffic. BENCH_AUTOVACUUM=on|off switches PostgreSQL's autovacuum for the run
 * (ALTER SYSTEM + reload) and puts it back afterwards; unset leaves it as the server has it.
 */
const preload = int('BENCH_PRELOAD', 0, 0);
const autovacuum = env.BENCH_AUTOVACUUM ? env.BENCH_AUTOVACUUM.toLowerCase() : null;
if (autovacuum !== null && !['on', 'off'].includes(autovacuum)) fail(`BENCH_AUTOVACUUM="${env.BENCH_AUTOVACUUM}": use on or off`);
const drainTimeoutS = int('BENCH_DRAIN_TIMEOUT_S', 300, 1);
const portBase = int('BENCH_PORT_BASE', 19100, 1024);
const dlrDelayMs = int('BENCH_DLR_DELAY_MS', 200, 0);
const smscWindow = int('BENCH_SMSC_WINDOW', 100, 1);
const deliverWindow = int('BENCH_SMSC_DELIVER_WINDOW', smscWindow, 1);
const smscTps = int('BENCH_SMSC_TPS', 100000, 1);
const systems = (env.BENCH_SYSTEMS || 'A,B,C').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
for (const s of systems) if (!['A', 'B', 'C'].includes(s)) fail(`BENCH_SYSTEMS="${env.BENCH_SYSTEMS}": use a comma-separated list of A, B, C`);
if (connections < threads) fail(`BENCH_CONNECTIONS (${connections}) must be at least BENCH_THREADS (${threads})`);
const logLevel = env.BENCH_LOG_LEVEL || 'warn';
const adminUrl = env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
const benchDb = 'smsgw_bench_kannel';
const prefix = 'smsgwbenchkannel';
/** BENCH_KEEP_DB=1: leave the platform's bench database for a look (its Redis keys go anyway). */
const keepDb = Boolean(env.BENCH_KEEP_DB);

const PORTS = {
  ...lib.platformPorts(portBase),
  kannelAdmin: portBase + 10,
  kannelSmsbox: portBase + 11,
  kannelSendsms: portBase + 12,
  kannelFake: portBase + 13,
};

const KANNEL = { bearerbox: '/usr/sbin/bearerbox', smsbox: '/usr/sbin/smsbox', fakesmsc: '/usr/lib/kannel/test/fakesmsc' };
const INSTALL = 'apt-get update && apt-get install -y kannel kannel-extras wrk';
const NAMES = {
  A: 'Kannel + fakesmsc',
  B: 'Kannel + SMPP simulator',
  C: 'platform (npm start)',
};
/** The simulator's settings, the same for B and C. */
const SIM_ENV = {
  SIM_SMPP_HOST: '127.0.0.1',
  SIM_SMPP_PORT: String(PORTS.simSmpp),
  SIM_HTTP_HOST: '127.0.0.1',
  SIM_HTTP_PORT: String(PORTS.simHttp),
  SIM_ACCOUNTS: 'smsgw:smsgw,kannel:kannel',
  SIM_TPS: '0',
  SIM_WINDOW: String(smscWindow),
  SIM_DLR_DELAY_MS: String(dlrDelayMs),
  SIM_DELIVER_WINDOW: String(deliverWindow),
  SIM_OUTCOMES: 'DELIVRD=1',
  SIM_RECORD_LIMIT: '1000',
};

function fail(message) {
  process.stderr.write(`bench:kannel: ${message}\n`);
  process.exit(1);
}

const say = (line) => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: everything started is stopped in reverse order.
// ---------------------------------------------------------------------------------------------
/** Children in start order: { name, child, killGroup? } */
const owned = [];
let stopping = false;
let tmpDir = null;
let sink = null;
let currentLoad = null;

function startProcess(name, file, args, options = {}) {
  const child = spawn(file, args, { cwd: options.cwd || root, env: options.env || env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.benchName = name;
  prefixed(child, name, options.onLine);
  child.on('error', (e) => process.stderr.write(`bench:kannel: ${name}: ${e.message}\n`));
  child.on('exit', (code, signal) => {
    if (!stopping && !child.benchStopping) process.stderr.write(`bench:kannel: ${name} exited during the run (${signal ?? code}); see its lines above\n`);
  });
  owned.push(child);
  return child;
}

function prefixed(child, name, onLine) {
  lib.prefixOutput(child, name, process.stdout, onLine);
}

function alive(child) {
  return child && child.exitCode === null && child.signalCode === null;
}

async function stopProcess(child, ms = 15000) {
  child.benchStopping = true;
  if (!alive(child)) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Prerequisites
// ---------------------------------------------------------------------------------------------
function which(cmd) {
  return (spawnSync('/bin/sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout || '').trim() || null;
}

async function checkPrerequisites() {
  const missing = [];
  const needKannel = systems.includes('A') || systems.includes('B');
  if (needKannel && !fs.existsSync(KANNEL.bearerbox)) missing.push(`${KANNEL.bearerbox} (Debian package kannel)`);
  if (needKannel && !fs.existsSync(KANNEL.smsbox)) missing.push(`${KANNEL.smsbox} (Debian package kannel)`);
  if (systems.includes('A') && !fs.existsSync(KANNEL.fakesmsc)) missing.push(`${KANNEL.fakesmsc} (Debian package kannel-extras)`);
  if (!which('wrk')) missing.push('wrk (Debian package wrk)');
  if (missing.length) fail(`missing: ${missing.join(', ')}.\nInstall them (Debian/Ubuntu, as root): ${INSTALL}`);
  const apps = systems.includes('C') ? [...lib.START_SERVICES, 'admin'] : systems.includes('B') ? ['smsc-simulator'] : [];
  for (const app of apps) {
    const main = path.join(root, 'apps', app, 'dist', 'main.js');
    if (!fs.existsSync(main)) fail(`${path.relative(root, main)} does not exist: run npm run build first`);
  }
  if (systems.includes('C')) {
    const { preflight } = require('./preflight');
    const problem = await preflight();
    if (problem) fail(problem);
  }
  const wanted = Object.entries(PORTS).filter(([k]) => (k.startsWith('kannel') ? systems.some((s) => s !== 'C') : true));
  for (const [what, port] of wanted) {
    if (!(await lib.portFree(port))) fail(`port ${port} (${what}) is in use; set BENCH_PORT_BASE to the start of 14 free ports (now ${portBase})`);
  }
  // A Kannel installed as a system service may be running; it is not ours, but it takes CPU.
  const others = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => /(^|\/)(bearerbox|smsbox)$/.test(lib.cmdline(pid)[0] || ''));
  if (others.length) say(`note: other Kannel processes are running (pids ${others.join(', ')}); they are not this bench's and take CPU. Stop them (service kannel stop) for clean figures.`);
}

const sinkAsk = (type, tag) => sink.ask(type, tag);
const sinkStats = (tag) => sink.stats(tag);

// ---------------------------------------------------------------------------------------------
// Systems
// ---------------------------------------------------------------------------------------------
function kannelConfig(dir, smsc) {
  const lines = [
    'group = core',
    `admin-port = ${PORTS.kannelAdmin}`,
    'admin-password = bench',
    'admin-interface = 127.0.0.1',
    'admin-allow-ip = 127.0.0.1',
    `smsbox-port = ${PORTS.kannelSmsbox}`,
    'smsbox-interface = 127.0.0.1',
    'log-level = 2',
    'store-type = file',
    `store-location = ${path.join(dir, 'kannel.store')}`,
    'dlr-storage = internal',
    '',
    'group = smsc',
    ...smsc,
    '',
    'group = smsbox',
    'bearerbox-host = 127.0.0.1',
    `bearerbox-port = ${PORTS.kannelSmsbox}`,
    `sendsms-port = ${PORTS.kannelSendsms}`,
    'sendsms-interface = 127.0.0.1',
    'log-level = 2',
    '',
    'group = sendsms-user',
    'username = bench',
    'password = bench',
    '',
  ];
  const file = path.join(dir, 'kannel.conf');
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

/** Bearerbox's status page: the SMSC line says "online" once the fake client connected or the SMPP bind succeeded. */
async function waitKannelOnline(ms, check) {
  const until = Date.now() + ms;
  let last = '';
  while (Date.now() < until) {
    check();
    try {
      last = await (await fetch(`http://127.0.0.1:${PORTS.kannelAdmin}/status.txt?password=bench`)).text();
      const smscs = last.slice(last.indexOf('SMSC connections'));
      if (/\bonline\b/.test(smscs)) return;
    } catch {
      // not up yet
    }
    await lib.sleep(200);
  }
  throw new Error(`Kannel's SMSC connection did not come online within ${ms / 1000} s; status:\n${last}`);
}

function liveCheck(procs) {
  return () => {
    if (stopping) throw new Error('interrupted');
    for (const p of procs) if (!alive(p)) throw new Error(`${p.benchName} exited; see its lines above`);
  };
}

async function simulatorCounters() {
  return (await fetch(`http://127.0.0.1:${PORTS.simHttp}/counters`)).json();
}

async function waitSimBind(systemId, ms, check) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    check();
    try {
      const c = await simulatorCounters();
      if (Object.values(c.binds || {}).reduce((a, b) => a + b, 0) > 0) return;
    } catch {
      // not up yet
    }
    await lib.sleep(200);
  }
  throw new Error(`${systemId} did not bind to the simulator within ${ms / 1000} s`);
}

function startSimulator(name) {
  const child = startProcess(name, process.execPath, [path.join(root, 'apps/smsc-simulator/dist/main.js')], { env: { ...env, ...SIM_ENV, LOG_LEVEL: logLevel } });
  return child;
}

async function startKannel(sys) {
  const dir = fs.mkdtempSync(path.join(tmpDir, `kannel-${sys}-`));
  const procs = [];
  let fakeCount = 0;
  let fakeLastAt = null;
  if (sys === 'B') {
    const sim = startSimulator(`${sys} simulator`);
    procs.push(sim);
    await lib.waitForHealth('the simulator', PORTS.simHttp, 30000, liveCheck(procs));
  }
  const smsc =
    sys === 'A'
      ? ['smsc = fake', 'smsc-id = fake', `port = ${PORTS.kannelFake}`, 'connect-allow-ip = 127.0.0.1']
      : [
          'smsc = smpp',
          'smsc-id = sim',
          'host = 127.0.0.1',
          `port = ${PORTS.simSmpp}`,
          'transceiver-mode = true',
          'smsc-username = kannel',
          'smsc-password = kannel',
          // Kannel refuses to start without one; the simulator ignores it.
          'system-type = ""',
          `max-pending-submits = ${smscWindow}`,
        ];
  const conf = kannelConfig(dir, smsc);
  // A fresh store does not exist yet: bearerbox says so in three ERROR pairs at start, left out.
  const bearerbox = startProcess(`${sys} bearerbox`, KANNEL.bearerbox, ['-v', '2', conf], {
    cwd: dir,
    onLine: (line) => !/ERROR: (fopen failed: couldn't open `.*kannel\.store|System error 2: No such file or directory)/.test(line),
  });
  procs.push(bearerbox);
  const check = liveCheck(procs);
  await lib.waitForPort(PORTS.kannelSmsbox, 30000, check);
  if (sys === 'A') {
    await lib.waitForPort(PORTS.kannelFake, 30000, check);
    // fakesmsc prints "Got message N: <...>" (debug level, on stderr) per message it received:
    // counted here, not printed. -m 0: it sends no MO of its own.
    const fake = startProcess(`${sys} fakesmsc`, KANNEL.fakesmsc, ['-H', '127.0.0.1', '-r', String(PORTS.kannelFake), '-m', '0', '-i', '0', '1 2 text x'], {
      cwd: dir,
      onLine: (line) => {
        if (line.includes('Got message')) {
          fakeCount++;
          fakeLastAt = Date.now();
          return false;
        }
        return !/ (DEBUG|INFO): /.test(line);
      },
    });
    procs.push(fake);
  }
  // smsbox logs an ERROR pair for every keep-alive client connection that closes (wrk ending):
  // left out.
  const smsbox = startProcess(`${sys} smsbox`, KANNEL.smsbox, ['-v', '2', conf], {
    cwd: dir,
    onLine: (line) => !/ERROR: (Error reading from fd \d+:|System error 104: Connection reset by peer)/.test(line),
  });
  procs.push(smsbox);
  await lib.waitForPort(PORTS.kannelSendsms, 30000, check);
  await waitKannelOnline(30000, check);
  if (sys === 'B') await waitSimBind('Kannel', 30000, check);
  const [sim, bb, fake, sb] = sys === 'B' ? [procs[0], procs[1], null, procs[2]] : [null, procs[0], procs[1], procs[2]];
  return {
    sys,
    mode: 'kannel',
    port: PORTS.kannelSendsms,
    login: () => 'bench',
    check,
    /** Messages the SMSC took, and when the count last grew. */
    submits: async () => (sys === 'A' ? { n: fakeCount, at: fakeLastAt } : { n: (await simulatorCounters()).submits, at: null }),
    processes: async () => {
      const out = { bearerbox: bb.pid, smsbox: sb.pid };
      if (fake) out.fakesmsc = fake.pid;
      if (sim) out.simulator = sim.pid;
      return out;
    },
    extraChecks: async () => ({}),
    stop: async () => {
      for (const p of [...procs].reverse()) await stopProcess(p);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * BENCH_PRELOAD delivered messages of a partner of their own, each with its segment, created over
 * the last 30 days, with ids from blocks of the platform's own id sequence (no running service can
 * draw them). In chunks of 500,000 rows, so the statistics trigger's transition table stays small;
 * then ANALYZE and a checkpoint, so the runs do not pay for the load.
 */
async function preloadHistory(pool, adminCli) {
  adminCli('partner', 'create', '--login', 'bench-history', '--password', 'bench-pass', '--allowed-ips', '127.0.0.1', '--senders', 'BENCH', '--default-sender', 'BENCH');
  const { rows: [partner] } = await pool.query(`SELECT id FROM partner WHERE login = 'bench-history'`);
  const { rows: [conn] } = await pool.query(`SELECT id FROM smsc_connection WHERE name = 'simulator'`);
  const blocks = Math.ceil(preload / 1000) + 1;
  const { rows: [seq] } = await pool.query(`SELECT nextval('message_id_block_seq')::bigint AS v`);
  await pool.query(`SELECT setval('message_id_block_seq', $1::bigint)`, [BigInt(seq.v) + BigInt(blocks)]);
  const base = (BigInt(seq.v) + 1n) * 1000n;
  const started = Date.now();
  const chunk = 500_000;
  for (let from = 0; from < preload; from += chunk) {
    const to = Math.min(preload, from + chunk) - 1;
    await pool.query(
      `INSERT INTO message (id, partner_id, partner_msg_id, sender, msisdn, text, encoding, segments, status, valid_until,
                            smsc_connection_id, created_at, updated_at, submitted_at, done_at)
       SELECT $1::bigint + g, $2, 'h' || g, 'BENCH', '7904' || lpad((g % 10000000)::text, 7, '0'), $5, 0, 1, 2, t.at + interval '1 day',
              $6, t.at, t.at, t.at, t.at + interval '5 seconds'
       FROM generate_series($3::bigint, $4::bigint) AS g, LATERAL (SELECT now() - interval '30 days' + interval '30 days' * (g::float8 / $7) AS at) AS t`,
      [base.toString(), partner.id, from, to, TEXT, conn.id, preload],
    );
    await pool.query(
      `INSERT INTO message_part (message_id, seq, smsc_connection_id, smsc_message_id, status, submitted_at, done_at)
       SELECT m.id, 1, m.smsc_connection_id, to_hex(m.id * 7919), 2, m.submitted_at, m.done_at
       FROM message m WHERE m.id BETWEEN $1::bigint + $2::bigint AND $1::bigint + $3::bigint`,
      [base.toString(), from, to],
    );
    say(`  preloaded ${to + 1} of ${preload} messages (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  await pool.query('ANALYZE');
  await pool.query('CHECKPOINT');
}

/** BENCH_AUTOVACUUM: sets autovacuum for the run; the returned function puts the server's own setting back. */
async function switchAutovacuum() {
  if (autovacuum === null) return async () => {};
  const { Pool } = require('pg');
  const admin = new Pool({ connectionString: lib.withDatabase(adminUrl, 'postgres'), max: 1 });
  admin.on('error', () => {});
  const { rows: [was] } = await admin.query(`SELECT setting, sourcefile FROM pg_settings WHERE name = 'autovacuum'`);
  const fromAutoConf = typeof was.sourcefile === 'string' && was.sourcefile.endsWith('postgresql.auto.conf');
  if (was.setting !== autovacuum) {
    await admin.query(`ALTER SYSTEM SET autovacuum = ${autovacuum === 'on' ? 'on' : 'off'}`);
    await admin.query('SELECT pg_reload_conf()');
  }
  say(`PostgreSQL autovacuum ${autovacuum} for this run (the server had it ${was.setting}; put back at the end)`);
  return async () => {
    if (was.setting !== autovacuum) {
      // An earlier ALTER SYSTEM value is restored as it was; otherwise the configuration file's applies again.
      await admin.query(fromAutoConf ? `ALTER SYSTEM SET autovacuum = ${was.setting === 'on' ? 'on' : 'off'}` : 'ALTER SYSTEM RESET autovacuum');
      await admin.query('SELECT pg_reload_conf()');
    }
    await admin.end().catch(() => {});
  };
}

async function startPlatform() {
  // What `npm start` runs (scripts/start.js) with the bench's database, Redis prefix and ports.
  let banner = false;
  const platform = await launchPlatform({
    adminUrl,
    redisUrl,
    benchDb,
    prefix,
    ports: PORTS,
    keepDb,
    env: { ...env, ...SIM_ENV, LOG_LEVEL: logLevel },
    say: (line) => say(`bench:kannel: ${line}`),
    spawnStart: (platformEnv) =>
      startProcess('C start.js', process.execPath, [path.join(root, 'scripts/start.js')], {
        env: platformEnv,
        // start.js's own lines: migrate/seed output and the "how to use it" banner are left out.
        onLine: (line) => {
          if (line.startsWith('The platform is starting')) banner = true;
          if (line.startsWith('[')) return true;
          return /error|fail|warn/i.test(line) && !banner;
        },
      }),
  });
  const { pool } = platform;
  const check = () => platform.check();
  try {
    const adminCli = (...args) => platform.adminCli(args);
    // The seeded connection, raised the way an operator would (the CLI announces it to the connector).
    adminCli('smsc', 'update', 'simulator', '--tps', String(smscTps), '--window', String(smscWindow));
    for (const kind of ['warm', 'main', 'paced', 'fixed']) {
      adminCli(
        'partner', 'create', '--login', `bench-${kind}`, '--password', 'bench-pass', '--allowed-ips', '127.0.0.1,::1',
        '--senders', 'BENCH', '--default-sender', 'BENCH', '--rate-limit', '100000',
        '--status-url', `http://127.0.0.1:${sinkPort}/dlr/C-${kind}`,
      );
    }
    if (preload) await preloadHistory(pool, adminCli);
    await waitSimBind('The connector', 30000, check);
    // The connector applies tps/window in place after the announcement; give it a moment.
    await lib.sleep(2000);
  } catch (e) {
    await platform.stop();
    throw e;
  }

  /** The service processes start.js started: name -> pid (the simulator as `simulator`). */
  const services = () => Object.fromEntries(Object.entries(platform.services()).map(([app, pids]) => [app === 'smsc-simulator' ? 'simulator' : app, pids[0]]));
  return {
    sys: 'C',
    mode: 'platform',
    port: PORTS.ingress,
    login: (kind) => `bench-${kind}`,
    check,
    submits: async () => ({ n: (await simulatorCounters()).submits, at: null }),
    processes: async () => {
      const out = { 'start.js': platform.start.pid, ...services() };
      const pg = await platform.postgresPids();
      out['postgres backends'] = pg.backends;
      out['postgres shared'] = pg.shared;
      if (platform.redisPid) out['redis-server'] = platform.redisPid;
      return out;
    },
    acceptedPerMinute: async (kind, t0, full) => {
      const { rows } = await pool.query(
        `SELECT floor((extract(epoch FROM m.created_at) * 1000 - $2) / 60000)::int AS k, count(*)::int AS n
         FROM message m JOIN partner p ON p.id = m.partner_id WHERE p.login = $1 GROUP BY 1`,
        [`bench-${kind}`, t0],
      );
      const out = new Array(full).fill(0);
      for (const r of rows) if (r.k >= 0 && r.k < full) out[r.k] = r.n;
      return out;
    },
    /** Which messages exist for a phase's partner, against the ids the sink saw. */
    extraChecks: async (kind, sinkIds) => {
      const { rows } = await pool.query(
        `SELECT m.partner_msg_id AS id, m.status FROM message m JOIN partner p ON p.id = m.partner_id WHERE p.login = $1`,
        [`bench-${kind}`],
      );
      const seen = new Set(sinkIds);
      const stored = new Set(rows.map((r) => r.id));
      const byStatus = {};
      for (const r of rows) byStatus[r.status] = (byStatus[r.status] || 0) + 1;
      // The callback worker's attempt outcomes and deferrals so far (whole run): a timeout or a
      // retry explains a repeated report.
      let callbackWorker = null;
      try {
        const text = await (await fetch(`http://127.0.0.1:${PORTS.callback}/metrics`)).text();
        callbackWorker = {};
        for (const [, metric, labels, v] of text.matchAll(/^smsgw_callback_(attempts_total|results_total|deferred_total|breaker_opened_total)\{([^}]*)\} (\S+)$/gm)) {
          if (Number(v) > 0) callbackWorker[`${metric}{${labels}}`] = Number(v);
        }
      } catch {
        // the figures are extra
      }
      return {
        callbackWorker,
        storedMessages: rows.length,
        storedByStatus: byStatus,
        storedWithoutDlr: rows.filter((r) => !seen.has(r.id)).length,
        dlrWithoutStored: sinkIds.filter((id) => !stored.has(id)).length,
      };
    },
    stop: () => platform.stop(),
  };
}

// ---------------------------------------------------------------------------------------------
// One load phase against one system
// ---------------------------------------------------------------------------------------------
const PG_KEYS = ['postgres backends', 'postgres shared'];
/** Processes counted as background for Kannel (shared with other users of the machine). */
const BACKGROUND = new Set(['redis-server', 'postgres shared', 'postgres backends']);
/** The load generator and the DLR sink: shown, never counted in a system's total. */
const LOAD = new Set(['wrk', 'sink']);
/** The SMSC's processes: part of neither gateway. */
const SMSC = new Set(['simulator', 'fakesmsc']);

/** A counter `read(pid)` of every process of the system (CPU ms by default), by name and pid. */
async function processSnapshot(sys, read = lib.cpuMs) {
  const procs = await sys.processes();
  const out = {};
  for (const [name, pids] of Object.entries(procs)) {
    const list = Array.isArray(pids) ? pids : [pids];
    out[name] = {};
    for (const pid of list) {
      const v = read(pid);
      if (v !== null) out[name][pid] = v;
    }
  }
  out.sink = { [sink.pid]: read(sink.pid) };
  return out;
}

/** Growth of each counter between two snapshots, by name (a PostgreSQL backend new since `before` counts from 0). */
function processDelta(before, after) {
  const out = {};
  for (const [name, pids] of Object.entries(after)) {
    let sum = 0;
    for (const [pid, v] of Object.entries(pids)) sum += v - (before[name]?.[pid] ?? (PG_KEYS.includes(name) ? 0 : v));
    out[name] = sum;
  }
  return out;
}

/**
 * Each full minute of a long run: messages accepted (stored, for the platform), DLRs at the sink
 * (first arrivals) and CPU ms per accepted message by process.
 */
async function minutes(sys, kind, tag, w, minuteCpu) {
  const full = Math.floor((w.t1 - w.t0) / 60_000);
  const dlrs = new Array(full).fill(0);
  for (const [sec, n] of (await sinkAsk('perSecond', tag)).perSecond) {
    const k = Math.floor((sec * 1000 - w.t0) / 60_000);
    if (k >= 0 && k < full) dlrs[k] += n;
  }
  const accepted = sys.acceptedPerMinute ? await sys.acceptedPerMinute(kind, w.t0, full) : null;
  const out = [];
  for (let k = 0; k < full; k++) {
    const a = accepted ? accepted[k] : null;
    const c0 = minuteCpu[k];
    const c1 = minuteCpu[k + 1];
    let cpu = null;
    if (c0 && c1 && a) {
      cpu = {};
      for (const [name, ms] of Object.entries(processDelta(c0.cpu, c1.cpu))) if (!LOAD.has(name)) cpu[name] = Number((ms / a).toFixed(4));
    }
    out.push({ minute: k + 1, accepted: a, dlrs: dlrs[k], cpuMsPerAccepted: cpu });
  }
  return out;
}

function runWrk(sys, tag, kind, quota, pacedRate = 0) {
  const phaseSeconds = kind === 'warm' ? warmupSeconds : kind === 'paced' ? pacedSeconds : seconds;
  return load.runWrk({
    dir: tmpDir, port: sys.port, mode: sys.mode, tag, login: sys.login(kind), seconds: phaseSeconds, quota, threads, connections, sinkPort, runTag, pacedRate,
    onStart: (child) => (currentLoad = child),
    onEnd: () => (currentLoad = null),
  });
}

async function phase(sys, kind, pacedRate = 0) {
  const tag = `${sys.sys}-${kind}`;
  const quota = kind === 'fixed' ? fixedN : 0;
  const sub0 = await sys.submits();
  // The SMSC's count is polled, so its last increase is known to ~100 ms.
  let subLast = sub0.n;
  let subLastAt = null;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        const s = await sys.submits();
        if (s.n !== subLast) {
          subLast = s.n;
          subLastAt = s.at ?? Date.now();
        }
      } catch {
        // the process check below reports a dead SMSC
      }
      await lib.sleep(100);
    }
  })();
  const cpu0 = await processSnapshot(sys);
  const writes0 = await processSnapshot(sys, lib.writeCalls);
  // A long paced run (the growth check) also takes the processes' CPU time every minute.
  const minuteCpu = [{ at: Date.now(), cpu: cpu0 }];
  const perMinute = kind === 'paced' && pacedSeconds >= 120;
  const minuteTimer = perMinute
    ? setInterval(() => {
        processSnapshot(sys).then((cpu) => minuteCpu.push({ at: Date.now(), cpu }), () => {});
      }, 60_000)
    : null;
  let w;
  try {
    w = await runWrk(sys, tag, kind, quota, pacedRate);
  } catch (e) {
    polling = false;
    await poller;
    throw e;
  } finally {
    if (minuteTimer) clearInterval(minuteTimer);
  }
  const accepted = w.ok + w.queued;
  // Wait for the delivery reports: until every accepted message has one, or nothing more arrives
  // for BENCH_DRAIN_TIMEOUT_S.
  let st = await sinkStats(tag);
  let progressAt = Date.now();
  let lastN = st.n;
  let lastReport = Date.now();
  while (st.unique < accepted) {
    sys.check();
    if (Date.now() - progressAt > drainTimeoutS * 1000) break;
    if (Date.now() - lastReport > 10000 && kind !== 'warm') {
      lastReport = Date.now();
      say(`  … ${st.unique}/${accepted} delivery reports`);
    }
    await lib.sleep(100);
    st = await sinkStats(tag);
    if (st.n !== lastN) {
      lastN = st.n;
      progressAt = Date.now();
    }
  }
  const timedOut = st.unique < accepted;
  // A moment for late duplicates (and the SMSC count) before the figures are read.
  await lib.sleep(1000);
  st = await sinkStats(tag);
  const cpu1 = await processSnapshot(sys);
  const writes1 = await processSnapshot(sys, lib.writeCalls);
  polling = false;
  await poller;
  const submits = subLast - sub0.n;
  const ids = sys.mode === 'platform' ? (await sinkAsk('ids', tag)).ids : null;
  const extra = ids ? await sys.extraChecks(kind, ids) : {};
  const cpu = processDelta(cpu0, cpu1);
  const perMsg = {};
  for (const [name, ms] of Object.entries(cpu)) perMsg[name] = accepted ? ms / accepted : null;
  if (w.wrkCpuMs !== null && accepted) perMsg.wrk = w.wrkCpuMs / accepted;
  const writesPerMsg = {};
  for (const [name, n] of Object.entries(processDelta(writes0, writes1))) writesPerMsg[name] = accepted ? Number((n / accepted).toFixed(2)) : null;
  const r = {
    accepted,
    notAccepted: w.bad,
    kannelQueued: w.queued,
    connectionErrors: w.connectErrors + w.readErrors + w.writeErrors + w.timeouts,
    loadSeconds: Number(((w.t1 - w.t0) / 1000).toFixed(2)),
    acceptedPerSecond: Math.round(accepted / ((w.t1 - w.t0) / 1000)),
    latencyMs: { p50: w.p50Us / 1000, p90: w.p90Us / 1000, p99: w.p99Us / 1000, max: w.maxUs / 1000 },
    smscSubmits: submits,
    smscSubmitsPerSecond: subLastAt ? Math.round(submits / ((subLastAt - w.t0) / 1000)) : null,
    dlrs: st.n,
    dlrUniqueIds: st.unique,
    dlrDuplicates: st.duplicates,
    dlrWithoutId: st.noId,
    dlrForeignIds: st.foreign,
    dlrTypes: st.types,
    // Up to 20 ids reported twice: when the first and the repeated report arrived (ms after the load's start).
    ...(st.duplicates ? { dlrDuplicateSample: st.dupSample.map((d) => ({ id: d.id, firstMs: d.first - w.t0, againMs: d.at - w.t0 })) } : {}),
    dlrPerSecond: st.last ? Math.round(st.unique / ((st.last - w.t0) / 1000)) : null,
    loadEndToLastDlrSeconds: st.last ? Number(((st.last - w.t1) / 1000).toFixed(2)) : null,
    firstRequestToLastDlrSeconds: st.last ? Number(((st.last - w.t0) / 1000).toFixed(2)) : null,
    ...(pacedRate ? { pacedRate } : {}),
    exactlyOneDlrPerAccepted: st.unique === accepted && st.n === accepted && st.duplicates === 0 && st.noId === 0 && st.foreign === 0,
    drainTimedOut: timedOut,
    cpuMsPerAccepted: perMsg,
    // Write system calls per accepted message, by process: sockets (and files) written.
    writeCallsPerAccepted: writesPerMsg,
    ...extra,
  };
  if (perMinute) r.minutes = await minutes(sys, kind, tag, w, minuteCpu);
  if (quota && w.issued !== quota) r.note = `wrk sent ${w.issued} requests, not ${quota}`;
  if (w.hitLimit) r.note = `${r.note ? `${r.note}; ` : ''}wrk ran into its -d limit`;
  if (w.issued !== w.answered) r.note = `${r.note ? `${r.note}; ` : ''}${w.issued - w.answered} requests sent and not answered`;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------
const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '-' : typeof v === 'number' ? v.toFixed(digits) : String(v));
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b !== 0 ? Number((a / b).toFixed(2)) : null);

/** CPU ms per message of a system's processes (never the load; PostgreSQL and Redis for the platform only). */
function cpuTotal(r, sysKey, { withSmsc = true } = {}) {
  let t = 0;
  for (const [name, v] of Object.entries(r.cpuMsPerAccepted)) {
    if (LOAD.has(name) || (!withSmsc && SMSC.has(name))) continue;
    if (sysKey !== 'C' && BACKGROUND.has(name)) continue;
    t += v ?? 0;
  }
  return t;
}

/**
 * The gateway's own CPU: for the platform its processes plus PostgreSQL and Redis, for Kannel
 * bearerbox and smsbox; never the SMSC (simulator, fakesmsc) or the load.
 */
const gatewayCpu = (r, sysKey) => cpuTotal(r, sysKey, { withSmsc: false });

/** The targets of the race (issue: the whole pipeline, side by side), each with its verdict. */
function targets(results) {
  const c = results.C;
  if (!c) return [];
  const out = [];
  const check = (what, value, limit, ok) => out.push({ target: what, value, limit, met: value === null || limit === null ? null : ok });
  const fixedC = c.fixed?.firstRequestToLastDlrSeconds ?? null;
  if (results.B) {
    const fixedB = results.B.fixed?.firstRequestToLastDlrSeconds ?? null;
    check('fixed N, first request → last DLR: at least 1.5x faster than Kannel over SMPP (s)', fixedC, fixedB === null ? null : Number((fixedB / 1.5).toFixed(2)), fixedC !== null && fixedB !== null && fixedC <= fixedB / 1.5);
    check('accepted/s under the sustained load: at least Kannel over SMPP', c.main.acceptedPerSecond, results.B.main.acceptedPerSecond, c.main.acceptedPerSecond >= results.B.main.acceptedPerSecond);
  }
  if (results.A) {
    const fixedA = results.A.fixed?.firstRequestToLastDlrSeconds ?? null;
    check('fixed N, first request → last DLR: at least as fast as Kannel with its fake SMSC (s)', fixedC, fixedA, fixedC !== null && fixedA !== null && fixedC <= fixedA);
  }
  check('DLRs keep up: load end → last DLR (s)', c.main.loadEndToLastDlrSeconds, 2, c.main.loadEndToLastDlrSeconds !== null && c.main.loadEndToLastDlrSeconds <= 2);
  const cpu = Number(gatewayCpu(c.main, 'C').toFixed(3));
  check('CPU per message, platform processes + PostgreSQL + Redis (ms)', cpu, 0.5, cpu <= 0.5);
  if (c.paced) check(`p99 of /send at ${pacedPercent} % of the peak rate (ms)`, c.paced.latencyMs.p99, 30, c.paced.latencyMs.p99 <= 30);
  const m = c.paced?.minutes;
  if (m && m.length >= 2 && m[0].accepted) {
    const last = m[m.length - 1].accepted;
    const share = Number((last / m[0].accepted).toFixed(3));
    check(`stays fast: last minute's accepted rate / first minute's (${preload} messages preloaded, autovacuum ${autovacuum ?? 'as configured'})`, share, 0.9, share >= 0.9);
  }
  const phasesC = Object.values(c).filter((ph) => typeof ph === 'object');
  const clean = phasesC.every((ph) => ph.exactlyOneDlrPerAccepted);
  out.push({ target: 'nothing lost, no duplicate DLRs (every phase)', value: clean ? 'yes' : 'NO', limit: 'yes', met: clean });
  return out;
}

function printPhase(key, kind, r) {
  const cpu = Object.entries(r.cpuMsPerAccepted)
    .filter(([name]) => !LOAD.has(name))
    .map(([name, v]) => `${name} ${fmt(v, 3)}`)
    .join(', ');
  const load = [...LOAD].filter((n) => n in r.cpuMsPerAccepted).map((n) => `${n} ${fmt(r.cpuMsPerAccepted[n], 3)}`).join(', ');
  say(
    `  ${kind.padEnd(5)} accepted ${r.accepted} (${r.acceptedPerSecond}/s; not accepted ${r.notAccepted}, connection errors ${r.connectionErrors})` +
      `  latency ms p50 ${fmt(r.latencyMs.p50, 1)} p90 ${fmt(r.latencyMs.p90, 1)} p99 ${fmt(r.latencyMs.p99, 1)}\n` +
      `        SMSC took ${r.smscSubmits} (${fmt(r.smscSubmitsPerSecond)}/s)  DLRs ${r.dlrs} (${r.dlrUniqueIds} ids, ${r.dlrDuplicates} duplicates, types ${JSON.stringify(r.dlrTypes)}) ` +
      `${fmt(r.dlrPerSecond)}/s; load end → last DLR ${fmt(r.loadEndToLastDlrSeconds, 2)} s; first request → last DLR ${fmt(r.firstRequestToLastDlrSeconds, 2)} s\n` +
      `        exactly one DLR per accepted message: ${r.exactlyOneDlrPerAccepted ? 'yes' : 'NO'}${r.drainTimedOut ? ` (no more reports for ${drainTimeoutS} s)` : ''}` +
      (r.storedMessages !== undefined ? `; stored ${r.storedMessages} ${JSON.stringify(r.storedByStatus)}, stored without DLR ${r.storedWithoutDlr}, DLR without stored ${r.dlrWithoutStored}` : '') +
      (r.note ? `; ${r.note}` : '') +
      (r.dlrDuplicateSample ? `\n        reported twice (ms after the load's start: first, again): ${r.dlrDuplicateSample.map((d) => `${d.id} ${d.firstMs}, ${d.againMs}`).join('; ')}` : '') +
      (r.callbackWorker ? `\n        callback worker so far: ${Object.entries(r.callbackWorker).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing'}` : '') +
      (r.minutes ? `\n        per minute (accepted, DLRs, gateway CPU ms/msg, of it PostgreSQL): ${r.minutes.map((m) => `${m.minute}: ${fmt(m.accepted)} ${m.dlrs} ${m.cpuMsPerAccepted ? fmt(gatewayCpu({ cpuMsPerAccepted: m.cpuMsPerAccepted }, key), 3) : '-'} ${m.cpuMsPerAccepted ? fmt((m.cpuMsPerAccepted['postgres backends'] ?? 0) + (m.cpuMsPerAccepted['postgres shared'] ?? 0), 3) : '-'}`).join('; ')}` : '') +
      `\n        CPU ms/accepted: ${cpu}; total ${fmt(cpuTotal(r, key), 3)}${key !== 'C' ? ' (Redis and PostgreSQL not counted: not Kannel\'s)' : ''}; load generator (not counted): ${load}` +
      (r.writeCallsPerAccepted ? `\n        write calls/accepted: ${Object.entries(r.writeCallsPerAccepted).map(([name, n]) => `${name} ${fmt(n, 2)}`).join(', ')}` : ''),
  );
}

function table(results) {
  const keys = Object.keys(results);
  const cols = keys.map((k) => `${k} ${NAMES[k]}`);
  const hasRatios = keys.includes('C');
  const rcols = [];
  if (hasRatios && keys.includes('B')) rcols.push(['C/B', 'B']);
  if (hasRatios && keys.includes('A')) rcols.push(['C/A', 'A']);
  const rows = [];
  const add = (label, get, digits = 0, withRatio = true) => {
    const vals = keys.map((k) => get(results[k], k));
    rows.push([label, ...vals.map((v) => fmt(v, digits)), ...rcols.map(([, d]) => (withRatio ? fmt(ratio(get(results.C, 'C'), get(results[d], d)), 2) : ''))]);
  };
  add('load average at its start', (r) => r.loadAverageAtStart, 1, false);
  add('accepted/s', (r) => r.main.acceptedPerSecond);
  add('latency p50 ms', (r) => r.main.latencyMs.p50, 1);
  add('latency p90 ms', (r) => r.main.latencyMs.p90, 1);
  add('latency p99 ms', (r) => r.main.latencyMs.p99, 1);
  add('accepted in the run', (r) => r.main.accepted);
  add('SMSC submits/s', (r) => r.main.smscSubmitsPerSecond);
  add('DLRs/s at the sink', (r) => r.main.dlrPerSecond);
  add('load end → last DLR s', (r) => r.main.loadEndToLastDlrSeconds, 1);
  add('one DLR per accepted', (r) => (r.main.exactlyOneDlrPerAccepted ? 'yes' : 'NO'), 0, false);
  const procNames = [];
  for (const k of keys) for (const n of Object.keys(results[k].main.cpuMsPerAccepted)) if (!LOAD.has(n) && !procNames.includes(n)) procNames.push(n);
  for (const n of procNames) {
    add(`CPU ms/msg ${n}${BACKGROUND.has(n) ? '*' : ''}`, (r, k) => (n in r.main.cpuMsPerAccepted ? r.main.cpuMsPerAccepted[n] : null), 3, false);
  }
  add('CPU ms/msg total', (r, k) => cpuTotal(r.main, k), 3);
  add('CPU ms/msg gateway only (no SMSC)', (r, k) => gatewayCpu(r.main, k), 3);
  for (const n of LOAD) add(`CPU ms/msg ${n} (load, not counted)`, (r) => r.main.cpuMsPerAccepted[n] ?? null, 3, false);
  if (pacedSeconds) {
    add(`paced (${pacedPercent} % of accepted/s): rate`, (r) => r.paced?.acceptedPerSecond ?? null, 0, false);
    add(`paced: latency p50 ms`, (r) => r.paced?.latencyMs.p50 ?? null, 1);
    add(`paced: latency p99 ms`, (r) => r.paced?.latencyMs.p99 ?? null, 1);
    add(`paced: one DLR per accepted`, (r) => (r.paced ? (r.paced.exactlyOneDlrPerAccepted ? 'yes' : 'NO') : null), 0, false);
  }
  if (fixedN) {
    add(`fixed ${fixedN}: 1st req → last DLR s`, (r) => r.fixed.firstRequestToLastDlrSeconds, 1);
    add(`fixed ${fixedN}: messages/s`, (r) => (r.fixed.firstRequestToLastDlrSeconds ? fixedN / r.fixed.firstRequestToLastDlrSeconds : null));
    add(`fixed ${fixedN}: accepted/s`, (r) => r.fixed.acceptedPerSecond);
    add(`fixed ${fixedN}: one DLR per accepted`, (r) => (r.fixed.exactlyOneDlrPerAccepted ? 'yes' : 'NO'), 0, false);
  }
  const header = ['', ...cols, ...rcols.map(([l]) => l)];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ').trimEnd();
  say(line(header));
  for (const r of rows) say(line(r));
  say('* shared with everything else on the machine; counted in the total only for the platform, which uses them');
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
let sinkPort = null;
const runTag = crypto.randomBytes(3).toString('hex');
let currentSystem = null;

async function main() {
  await checkPrerequisites();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgw-bench-kannel-'));
  load.writeLoadScript(tmpDir);
  sink = await startSink(runTag);
  sinkPort = sink.port;

  say(
    `bench:kannel: ${systems.join(', ')}; wrk ${threads} threads, ${connections} keep-alive connections, ${seconds} s (warm-up ${warmupSeconds} s), ` +
      `then ${fixedN} requests; one DLR each to the sink on 127.0.0.1:${sinkPort}. Simulator: receipts after ${dlrDelayMs} ms, ` +
      `window ${smscWindow}, deliver_sm window ${deliverWindow}, no TPS limit. ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );
  restoreAutovacuum = await switchAutovacuum();
  const results = {};
  for (const key of systems) {
    const loadAverage = os.loadavg()[0];
    say(`\n== ${key}: ${NAMES[key]} (load average ${loadAverage.toFixed(1)} at its start)`);
    currentSystem = key === 'C' ? await startPlatform() : await startKannel(key);
    try {
      const r = {};
      for (const kind of ['warm', 'main', ...(pacedSeconds ? ['paced'] : []), ...(fixedN ? ['fixed'] : [])]) {
        if (kind === 'warm' && warmupSeconds === 0) continue;
        const rate = kind === 'paced' ? Math.max(1, Math.round((r.main.acceptedPerSecond * pacedPercent) / 100)) : 0;
        r[kind] = await phase(currentSystem, kind, rate);
        printPhase(key, kind, r[kind]);
      }
      delete r.warm;
      r.loadAverageAtStart = Number(loadAverage.toFixed(2));
      results[key] = r;
    } finally {
      const s = currentSystem;
      currentSystem = null;
      await s.stop();
    }
  }

  say(`\n== Results (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  table(results);
  const ratios = {};
  if (results.C) {
    for (const d of ['B', 'A']) {
      if (!results[d]) continue;
      const c = results.C;
      const o = results[d];
      ratios[`C/${d}`] = {
        acceptedPerSecond: ratio(c.main.acceptedPerSecond, o.main.acceptedPerSecond),
        latencyP50: ratio(c.main.latencyMs.p50, o.main.latencyMs.p50),
        latencyP90: ratio(c.main.latencyMs.p90, o.main.latencyMs.p90),
        latencyP99: ratio(c.main.latencyMs.p99, o.main.latencyMs.p99),
        smscSubmitsPerSecond: ratio(c.main.smscSubmitsPerSecond, o.main.smscSubmitsPerSecond),
        dlrPerSecond: ratio(c.main.dlrPerSecond, o.main.dlrPerSecond),
        loadEndToLastDlrSeconds: ratio(c.main.loadEndToLastDlrSeconds, o.main.loadEndToLastDlrSeconds),
        cpuMsPerAccepted: ratio(cpuTotal(c.main, 'C'), cpuTotal(o.main, d)),
        fixedFirstRequestToLastDlrSeconds: c.fixed && o.fixed ? ratio(c.fixed.firstRequestToLastDlrSeconds, o.fixed.firstRequestToLastDlrSeconds) : null,
      };
    }
  }
  const verdicts = targets(results);
  if (verdicts.length) {
    say('\n== Targets');
    for (const v of verdicts) say(`  ${v.met === null ? '?   ' : v.met ? 'met ' : 'NOT '} ${v.target}: ${fmt(v.value, 2)} (target ${fmt(v.limit, 2)})`);
  }
  const phases = (r) => Object.values(r).filter((ph) => typeof ph === 'object');
  for (const r of Object.values(results)) for (const ph of phases(r)) ph.cpuMsPerAccepted = Object.fromEntries(Object.entries(ph.cpuMsPerAccepted).map(([k, v]) => [k, v === null ? null : Number(v.toFixed(4))]));
  const json = {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    settings: { seconds, connections, threads, warmupSeconds, fixedN, pacedSeconds, pacedPercent, preload, autovacuum, dlrDelayMs, smscWindow, deliverWindow, smscTps, logLevel },
    results,
    ratios,
    targets: verdicts,
  };
  say(JSON.stringify(json));
  const bad = Object.values(results).some((r) => phases(r).some((ph) => !ph.exactlyOneDlrPerAccepted || ph.accepted === 0));
  if (bad) process.exitCode = 1;
}

let cleaning = null;
/** Puts PostgreSQL's autovacuum back as the server had it (BENCH_AUTOVACUUM). */
let restoreAutovacuum = async () => {};
function cleanup() {
  cleaning ??= (async () => {
    stopping = true;
    if (currentLoad) currentLoad.kill('SIGKILL');
    if (currentSystem) await currentSystem.stop().catch((e) => process.stderr.write(`bench:kannel: stopping: ${e.message}\n`));
    for (const p of [...owned].reverse()) await stopProcess(p);
    await restoreAutovacuum().catch((e) => process.stderr.write(`bench:kannel: could not put autovacuum back, do it by hand: ${e.message}\n`));
    sink?.close();
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    process.stderr.write(`bench:kannel: ${signal}, stopping everything it started\n`);
    cleanup().finally(() => process.exit(130));
  });
}

main()
  .catch((e) => {
    if (e.message !== 'interrupted') process.stderr.write(`bench:kannel failed: ${e.stack || e.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
