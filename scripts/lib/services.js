// Helpers shared by the bench and fuzz scripts: environment numbers, a fresh migrated database,
// a Redis prefix, free ports, built services started as child processes, /proc readings.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

/** A whole number from the environment (or `fallback`); exits with a one-line message otherwise. */
function intEnv(name, fallback, min = 0, tool = path.basename(process.argv[1] || 'script', '.js')) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min) {
    process.stderr.write(`${tool}: ${name}="${v}" must be a whole number of at least ${min}\n`);
    process.exit(1);
  }
  return Number(v);
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

async function waitForHealth(url, child, output, what, timeoutMs = 30_000) {
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
  await waitForHealth(url, child, output, name);
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

/** Resident set size of a process in KiB (Linux /proc; null elsewhere or when it is gone). */
function rssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds a process has used (Linux /proc; null elsewhere). */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

module.exports = { root, intEnv, withDatabase, freePort, freshDatabase, clearRedisPrefix, waitForHealth, startService, rssKb, cpuSeconds };
