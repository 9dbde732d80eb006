// Helpers shared by the bench and fuzz scripts: environment numbers, a fresh migrated database,
// a Redis prefix, free ports, built services started as child processes and their output, waiting
// for /health, /proc readings (CPU time, memory, child processes).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

/**
 * The services `npm start` (scripts/start.js) runs, in start order; each is started only if its
 * dist/main.js exists. The simulator comes first so that the connector finds an SMSC to bind to.
 */
const START_SERVICES = ['smsc-simulator', 'ingress-api', 'smpp-server', 'smsc-connector', 'callback-worker', 'scheduler', 'portal'];
/**
 * Node options of a service, wherever it is started. The callback worker allocates many
 * short-lived objects per callback: a larger young generation means fewer scavenges (about 7 %
 * less CPU per callback in bench:callbacks), as its `npm start` does too.
 */
const NODE_ARGS = {
  'callback-worker': ['--max-semi-space-size=32'],
  // A release burst makes a lot of short-lived garbage (BullMQ jobs): keep the heap small (its npm start).
  scheduler: ['--max-semi-space-size=32', '--max-old-space-size=128'],
};

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux we run on. */
const CLOCK_TICK_MS = 1000 / 100;

/**
 * A whole-number setting from the environment: `fallback` when unset or empty, otherwise it must
 * be a whole number of at least `min`; `fail` is called with the message when it is not.
 */
function intSetting(env, name, fallback, min, fail) {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min) fail(`${name}="${v}" must be a whole number of at least ${min}`);
  return Number(v);
}

/** A whole number from the environment (or `fallback`); exits with a one-line message otherwise. */
function intEnv(name, fallback, min = 0, tool = path.basename(process.argv[1] || 'script', '.js')) {
  return intSetting(process.env, name, fallback, min, (message) => {
    process.stderr.write(`${tool}: ${message}\n`);
    process.exit(1);
  });
}

function withDatabase(url, db) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The ports a bench runs `npm start`'s services on, from one base: ingress +0, connector +1,
 * callback worker +2, scheduler +3, portal +4, simulator SMPP +5 and HTTP +6, SMPP server +7 and
 * its HTTP +8.
 */
function platformPorts(base) {
  return {
    ingress: base,
    connector: base + 1,
    callback: base + 2,
    scheduler: base + 3,
    portal: base + 4,
    simSmpp: base + 5,
    simHttp: base + 6,
    smppServer: base + 7,
    smppServerHttp: base + 8,
  };
}

/** The environment that puts scripts/start.js's services (not the simulator) on `platformPorts`, the portal reading the connector's and the SMPP server's. */
function platformPortEnv(ports) {
  return {
    INGRESS_PORT: String(ports.ingress),
    CONNECTOR_HTTP_PORT: String(ports.connector),
    CALLBACK_HTTP_PORT: String(ports.callback),
    SCHEDULER_HTTP_PORT: String(ports.scheduler),
    PORTAL_PORT: String(ports.portal),
    SMPP_SERVER_PORT: String(ports.smppServer),
    SMPP_SERVER_HTTP_PORT: String(ports.smppServerHttp),
    CONNECTOR_URLS: `http://127.0.0.1:${ports.connector}`,
    SMPP_SERVER_URLS: `http://127.0.0.1:${ports.smppServerHttp}`,
  };
}

/** Drops and recreates `name` on the server of `serverUrl`, migrated; returns its URL. Needs @smsgw/db built. */
async function freshDatabase(serverUrl, name) {
  const { adminQuery, runMigrate } = require(path.join(root, 'packages/db/dist/testing'));
  await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  const url = withDatabase(serverUrl, name);
  await runMigrate(url);
  return url;
}

/** Deletes every key under `prefix:` (SCAN, so a large Redis is not blocked). */
async function clearRedisPrefix(redis, prefix) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Resolves when `${url}/health` answers 200; rejects when `child` exits or after `timeoutMs`, with its last output. */
async function waitForService(url, child, output, what, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}: ${output ? output.join('').slice(-2000) : ''}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) throw new Error(`${what} not healthy within ${timeoutMs / 1000} s: ${output ? output.join('').slice(-2000) : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/**
 * Starts a built service (`main`, relative to the repository) with `env` added to this process's,
 * keeps its output (last 1 MB) and waits for `${url}/health`. `close()` sends SIGTERM and waits.
 */
async function startService({ name, main, env, port, nodeArgs = [], inheritOutput = false }) {
  const output = [];
  let kept = 0;
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, main)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', inheritOutput ? 'inherit' : 'pipe', inheritOutput ? 'inherit' : 'pipe'],
  });
  const keep = (d) => {
    output.push(String(d));
    kept += d.length;
    while (kept > 1_000_000 && output.length > 1) kept -= output.shift().length;
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  await waitForService(url, child, output, name);
  return {
    name,
    url,
    port,
    child,
    output,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Resolves with `check()`'s first truthy value (looked at every 100 ms); rejects after `ms`. */
async function waitFor(what, check, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resident set size of a process in KiB (Linux /proc; null elsewhere or when it is gone). */
function rssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system, ms) a process has used so far, or null when it is gone (Linux). */
function cpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: the fields start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * CLOCK_TICK_MS;
  } catch {
    return null;
  }
}

/**
 * CPU time of groups of processes that come and go (PostgreSQL backends with the pools, instances
 * started and stopped). `groups()` names the pids of each group now, as { name: [pid, …] }; every
 * pid's latest reading is kept, sampled every `everyMs`, so that a process that ends keeps what it
 * had used. `totals()` samples once more and sums by group: the CPU ms of a group between two
 * totals is their difference (a process that appeared in between counts from 0).
 */
function cpuTracker(groups, everyMs = 500) {
  const seen = new Map(); // pid -> { name, ms }
  const sample = async () => {
    for (const [name, pids] of Object.entries(await groups())) {
      for (const pid of pids) {
        const ms = cpuMs(pid);
        if (ms !== null) seen.set(pid, { name, ms });
      }
    }
  };
  const timer = setInterval(() => void sample().catch(() => {}), everyMs);
  timer.unref();
  return {
    async totals() {
      await sample();
      const out = {};
      for (const { name, ms } of seen.values()) out[name] = (out[name] ?? 0) + ms;
      return out;
    },
    stop: () => clearInterval(timer),
  };
}

/** The whole machine's CPU time so far from /proc/stat, in ms summed over all CPUs: busy and total (busy + idle + iowait). */
function machineCpuMs() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy * CLOCK_TICK_MS, total: (busy + idle + iowait) * CLOCK_TICK_MS };
}

/**
 * Write system calls (write, writev, …) a process has made so far (`syscw` of /proc/<pid>/io), or
 * null when it is gone or not readable. On loopback a socket write also runs the receiver's TCP
 * path, so these are a large share of a pipeline's CPU.
 */
function writeCalls(pid) {
  try {
    const m = /^syscw: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds a process has used (Linux /proc; null elsewhere). */
function cpuSeconds(pid) {
  const ms = cpuMs(pid);
  return ms === null ? null : ms / 1000;
}


/** The pids of a process's children (Linux: /proc/<pid>/task/<tid>/children). */
function childPids(pid) {
  const out = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

/** A process's command line as a list of arguments, or [] when it is gone. */
function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Writes every line a child prints to `out` (default stdout) prefixed by `[name] `. */
function prefixOutput(child, name, out = process.stdout, onLine = null) {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    let buffered = '';
    stream.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        if (onLine && onLine(line, stream === child.stderr) === false) continue;
        out.write(`[${name}] ${line}\n`);
      }
    });
  }
}

function portFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** Resolves when a TCP connect to host:port succeeds; rejects after `ms` or when `check()` throws. */
async function waitForPort(port, ms, check = () => {}, host = '127.0.0.1') {
  const until = Date.now() + ms;
  for (;;) {
    check();
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on ${host}:${port} after ${ms / 1000} s`);
    await sleep(100);
  }
}

/** Resolves when GET http://127.0.0.1:<port>/health answers 200; rejects after `ms` or when `check()` throws. */
async function waitForHealth(name, port, ms = 30000, check = () => {}) {
  const until = Date.now() + ms;
  let last = 'no answer';
  while (Date.now() < until) {
    check();
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (e) {
      last = e.cause?.code || e.message;
    }
    await sleep(200);
  }
  throw new Error(`${name} did not become healthy on port ${port} within ${ms / 1000} s (last: ${last})`);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Stops started children in reverse order: SIGTERM, then SIGKILL after 15 s; already ended ones are skipped. */
async function stopChildren(children) {
  for (const child of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    await exited;
    clearTimeout(timer);
  }
}

module.exports = {
  START_SERVICES,
  NODE_ARGS,
  stopChildren,
  waitFor,
  root,
  CLOCK_TICK_MS,
  intSetting,
  intEnv,
  withDatabase,
  freePort,
  portFree,
  freshDatabase,
  platformPorts,
  platformPortEnv,
  clearRedisPrefix,
  waitForPort,
  waitForHealth,
  waitForService,
  startService,
  prefixOutput,
  rssKb,
  cpuMs,
  cpuTracker,
  machineCpuMs,
  writeCalls,
  cpuSeconds,
  childPids,
  cmdline,
  sleep,
};
