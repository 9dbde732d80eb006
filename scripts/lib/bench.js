// Small helpers the bench scripts share: whole-number settings from the environment, CPU time
// of processes from /proc, child output prefixed by a name, free ports, waiting for /health.
const fs = require('node:fs');
const net = require('node:net');

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

function withDatabase(url, db) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

module.exports = { CLOCK_TICK_MS, intSetting, cpuMs, childPids, cmdline, prefixOutput, portFree, waitForPort, waitForHealth, withDatabase, sleep };
