#!/usr/bin/env node
// `npm run test:compose`: the platform in containers, end to end (not part of `npm test`).
//
//  1. Docker engine: started in the background if it does not answer (Debian's docker.io,
//     docker-compose and debootstrap are installed first if missing; needs root).
//  2. Base images (node:24-bookworm-slim, postgres:15, redis:7): scripts/docker/build-base-images.sh
//     builds stand-ins from Debian packages for the missing ones (no Docker Hub here).
//  3. `up -d --build` of docker-compose.yml plus docker-compose.test.yml (a partner sink), as its
//     own Compose project, with the ingress published on a free port; waits for every service to be
//     healthy and `migrate` to have exited 0; the portal's UI and operator login answer on its
//     published port.
//  4. A message sent from this host through the ingress container's published port reaches
//     status 2 (/status), and its delivery report reaches the partner sink container.
//  5. callback-worker scaled to 3: a batch of messages all reach status 2 through the one
//     smsc-connector, every report reaches the sink, and more than one worker delivered them.
//  6. One callback-worker container restarted in the middle of a batch: nothing lost (every message
//     final, every report at the sink).
//  7. `down -v` (also after a failure; KEEP=1 leaves everything running to look at).
// Each step prints what it checked and how long it took. Logs of a failed run go to
// test-artifacts/compose/.
//
// Settings (environment): COMPOSE ("docker compose" or "docker-compose"; default: v2 if present),
// COMPOSE_TEST_PROJECT (smsgw-composetest), INGRESS_PUBLISHED_PORT and PORTAL_PUBLISHED_PORT
// (default: free ports),
// BATCH (200 messages per batch), KEEP=1.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const artifacts = path.join(root, 'test-artifacts', 'compose');
const project = process.env.COMPOSE_TEST_PROJECT || 'smsgw-composetest';
const BATCH = Number(process.env.BATCH || 200);
const PARTNER = { serviceId: 'demo', pass: 'demo-pass' };
const SINK_URL = 'http://partner-sink:8000/dlr';
const SERVICES = ['postgres', 'redis', 'smsc-simulator', 'ingress-api', 'smsc-connector', 'callback-worker', 'scheduler', 'portal', 'partner-sink'];
const BASE_IMAGES = ['node:24-bookworm-slim', 'postgres:15', 'redis:7'];

const started = Date.now();
const results = [];
let composeCmd;
let port;
let portalPort;
let upStarted = false;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

function sh(cmd, args, { input, allowFail = false, quiet = true, env, timeoutMs } = {}) {
  const r = spawnSync(cmd, args, {
    cwd: root,
    input,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
    timeout: timeoutMs,
  });
  if (!allowFail && r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})${out ? `:\n${out}` : ''}`);
  }
  return r;
}
const ok = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const which = (name) => ok('sh', ['-c', `command -v ${name}`]);

function composeEnv() {
  return { INGRESS_PUBLISHED_PORT: String(port), PORTAL_PUBLISHED_PORT: String(portalPort) };
}
function compose(args, opts = {}) {
  const [cmd, ...pre] = composeCmd;
  return sh(cmd, [...pre, '-p', project, '-f', 'docker-compose.yml', '-f', 'docker-compose.test.yml', ...args], { ...opts, env: { ...composeEnv(), ...opts.env } });
}

async function step(name, fn) {
  const t = Date.now();
  process.stdout.write(`… ${name}\n`);
  try {
    const detail = await fn();
    const line = `✔ ${name} (${seconds(Date.now() - t)})${detail ? `: ${detail}` : ''}`;
    results.push({ name, ok: true, ms: Date.now() - t });
    process.stdout.write(`${line}\n`);
  } catch (err) {
    results.push({ name, ok: false, ms: Date.now() - t });
    process.stdout.write(`✘ ${name} (${seconds(Date.now() - t)}): ${err.message}\n`);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Engine and images

async function ensureEngine() {
  const missing = ['dockerd', 'docker'].filter((b) => !which(b));
  if (!which('docker-compose') && !ok('docker', ['compose', 'version'])) missing.push('docker-compose');
  let installed = '';
  if (missing.length) {
    if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(', ')}; as root: apt-get install -y docker.io docker-compose debootstrap`);
    process.stdout.write(`  installing docker.io docker-compose debootstrap (missing: ${missing.join(', ')})\n`);
    sh('apt-get', ['update', '-qq']);
    sh('apt-get', ['install', '-y', '-qq', 'docker.io', 'docker-compose', 'debootstrap'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
    installed = 'installed docker.io, docker-compose, debootstrap; ';
  }
  let how = 'already running';
  if (!ok('docker', ['info'])) {
    if (process.getuid?.() !== 0) throw new Error('the Docker engine does not answer and this is not root: start dockerd');
    fs.mkdirSync(artifacts, { recursive: true });
    const log = fs.openSync(path.join(os.tmpdir(), 'smsgw-dockerd.log'), 'a');
    const d = spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] });
    d.unref();
    const until = Date.now() + 60_000;
    while (!ok('docker', ['info'])) {
      if (Date.now() > until) throw new Error(`dockerd did not answer within 60 s; see ${path.join(os.tmpdir(), 'smsgw-dockerd.log')}`);
      await sleep(500);
    }
    how = `started dockerd (pid ${d.pid}, log ${path.join(os.tmpdir(), 'smsgw-dockerd.log')})`;
  }
  if (process.env.COMPOSE) composeCmd = process.env.COMPOSE.split(' ');
  else composeCmd = ok('docker', ['compose', 'version']) ? ['docker', 'compose'] : ['docker-compose'];
  const version = sh(composeCmd[0], [...composeCmd.slice(1), 'version'], { allowFail: true }).stdout.split('\n')[0];
  return `${installed}${how}; ${composeCmd.join(' ')} (${version.trim()})`;
}

function ensureBaseImages() {
  const missing = BASE_IMAGES.filter((image) => !ok('docker', ['image', 'inspect', image]));
  if (missing.length === 0) return `present: ${BASE_IMAGES.join(', ')}`;
  if (!which('debootstrap')) {
    if (process.getuid?.() !== 0) throw new Error('debootstrap is missing; as root: apt-get install -y debootstrap');
    sh('apt-get', ['install', '-y', '-qq', 'debootstrap'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
  }
  sh('bash', [path.join(root, 'scripts', 'docker', 'build-base-images.sh')], { quiet: false });
  return `built stand-ins for ${missing.join(', ')}`;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Containers

/** Containers of a service: [{ id, name, status, health, exitCode }]. */
function containers(service) {
  const ids = compose(['ps', '-q', service], { allowFail: true }).stdout.split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const r = sh('docker', ['inspect', ...ids], { allowFail: true });
  if (r.status !== 0) return [];
  return JSON.parse(r.stdout).map((c) => ({
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    status: c.State.Status,
    health: c.State.Health?.Status ?? '',
    exitCode: c.State.ExitCode,
  }));
}

async function waitHealthy(services, { timeoutMs = 240_000, counts = {} } = {}) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const waiting = [];
    for (const service of services) {
      const list = containers(service);
      const want = counts[service] ?? 1;
      const bad = list.find((c) => c.status === 'exited' || c.status === 'dead' || c.health === 'unhealthy');
      if (bad) throw new Error(`${service}: container ${bad.name} is ${bad.health === 'unhealthy' ? 'unhealthy' : `${bad.status} (exit ${bad.exitCode})`}\n${logsTail(service)}`);
      const healthy = list.filter((c) => c.status === 'running' && (c.health === 'healthy' || c.health === ''));
      if (healthy.length < want) waiting.push(`${service} ${healthy.length}/${want}`);
    }
    const migrate = containers('migrate');
    if (migrate.length === 0 || migrate[0].status !== 'exited') waiting.push('migrate (running)');
    else if (migrate[0].exitCode !== 0) throw new Error(`migrate exited ${migrate[0].exitCode}\n${logsTail('migrate')}`);
    if (waiting.length === 0) return;
    if (Date.now() > until) throw new Error(`not healthy within ${seconds(timeoutMs)}: ${waiting.join(', ')}`);
    await sleep(1000);
  }
}

function logsTail(service, lines = 25) {
  return compose(['logs', '--no-color', '--tail', String(lines), service], { allowFail: true }).stdout.trim();
}

/** Runs a one-line Node script inside a container (the images have node and no curl). */
function nodeIn(container, script) {
  return sh('docker', ['exec', container, 'node', '-e', script]).stdout;
}
const httpGetScript = (url) => `fetch(${JSON.stringify(url)}).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { console.error(e.message); process.exit(1); })`;

function admin(...args) {
  return compose(['run', '--rm', '--no-deps', '-T', 'admin', ...args]).stdout;
}

// ---------------------------------------------------------------------------------------------
// Partner traffic, from this host to the published port

const base = () => `http://127.0.0.1:${port}`;
let seq = 0;

async function send(text) {
  // Ends in 1: never one of the simulator's magic endings (…0000 no receipt, …0002 expired, …0005 undelivered).
  const clientId = `7916555${String(seq++ % 1000).padStart(3, '0')}1`;
  const q = new URLSearchParams({ ...PARTNER, clientId, message: text });
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${base()}/send?${q}`);
    const body = (await res.text()).trim();
    if (res.status === 200 && body.startsWith('OK')) return body.split('\n')[1].trim();
    if (res.status === 408 && attempt < 50) {
      await sleep(200); // over the partner's rate limit: wait, as a partner would
      continue;
    }
    throw new Error(`/send answered ${res.status}: ${body}`);
  }
}

async function sendMany(n, label, { concurrency = 16, onSent } = {}) {
  const ids = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        ids[i] = await send(`${label} ${i + 1}/${n}`);
        onSent?.(ids.filter(Boolean).length);
      }
    }),
  );
  return ids;
}

/** id -> status, from /status (100 ids per request). */
async function statuses(ids) {
  const out = new Map();
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const res = await fetch(`${base()}/status?${new URLSearchParams({ ...PARTNER, transactionId: chunk.join(',') })}`);
    const body = (await res.text()).trim();
    if (res.status !== 200 || !body.startsWith('OK')) throw new Error(`/status answered ${res.status}: ${body}`);
    for (const line of body.split('\n').slice(1)) {
      const [id, status] = line.split(';');
      out.set(id, Number(status));
    }
  }
  return out;
}

function sinkReports() {
  const sink = containers('partner-sink')[0];
  const list = JSON.parse(nodeIn(sink.id, httpGetScript('http://127.0.0.1:8000/received')));
  const byId = new Map();
  for (const r of list) if (r.path === '/dlr') byId.set(r.query.transactionId, [...(byId.get(r.query.transactionId) ?? []), r.query]);
  return { total: list.length, byId };
}

/** Waits until every id has status 2 and a delivery report with status 2 at the sink. */
async function waitDelivered(ids, timeoutMs = 180_000) {
  const until = Date.now() + timeoutMs;
  let final = 0;
  let reported = 0;
  for (;;) {
    const st = await statuses(ids);
    const notFinal = ids.filter((id) => st.get(id) !== 2);
    const failed = ids.filter((id) => st.get(id) === 5 || st.get(id) === -1);
    if (failed.length) throw new Error(`${failed.length} message(s) ended with status 5 or are unknown, e.g. ${failed[0]}: ${st.get(failed[0])}`);
    final = ids.length - notFinal.length;
    const { byId } = sinkReports();
    const missing = ids.filter((id) => !(byId.get(id) ?? []).some((q) => q.status === '2'));
    reported = ids.length - missing.length;
    if (notFinal.length === 0 && missing.length === 0) {
      const dupes = ids.filter((id) => byId.get(id).length > 1).length;
      return { final, reported, dupes };
    }
    if (Date.now() > until) {
      throw new Error(
        `after ${seconds(timeoutMs)}: ${final}/${ids.length} at status 2 (e.g. ${notFinal[0] ?? '-'}: ${st.get(notFinal[0])}), ` +
          `${reported}/${ids.length} reports at the sink (e.g. ${missing[0] ?? '-'} missing)`,
      );
    }
    await sleep(1000);
  }
}

/** Delivery reports each callback-worker container pushed successfully (its /metrics). */
function reportsPerWorker() {
  return containers('callback-worker').map((c) => {
    const text = nodeIn(c.id, httpGetScript('http://127.0.0.1:8091/metrics'));
    const m = /^smsgw_callback_attempts_total\{[^}]*kind="dlr"[^}]*outcome="ok"[^}]*\}\s+(\d+)/m.exec(text) ?? /^smsgw_callback_attempts_total\{[^}]*outcome="ok"[^}]*kind="dlr"[^}]*\}\s+(\d+)/m.exec(text);
    return { name: c.name, ok: m ? Number(m[1]) : 0 };
  });
}

function connectorBound() {
  const c = containers('smsc-connector')[0];
  return nodeIn(c.id, httpGetScript('http://127.0.0.1:8090/connections'));
}

// ---------------------------------------------------------------------------------------------

async function main() {
  process.stdout.write(`test:compose: project ${project}\n`);
  await step('Docker engine', ensureEngine);
  await step('base images', ensureBaseImages);
  port = Number(process.env.INGRESS_PUBLISHED_PORT) || (await freePort());
  portalPort = Number(process.env.PORTAL_PUBLISHED_PORT) || (await freePort());
  compose(['down', '-v', '--remove-orphans'], { allowFail: true }); // leftovers of an interrupted run
  upStarted = true;
  await step('up -d --build (images built, containers started)', () => {
    fs.mkdirSync(artifacts, { recursive: true });
    const r = compose(['up', '-d', '--build'], { allowFail: true });
    fs.writeFileSync(path.join(artifacts, 'up.log'), `${r.stdout}${r.stderr}`);
    if (r.status !== 0) throw new Error(`up failed (exit ${r.status}); last lines:\n${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-25).join('\n')}`);
    const sizes = sh('docker', ['image', 'ls', '--format', '{{.Repository}} {{.Size}}', 'smsgw/*']).stdout.trim().split('\n').join(', ');
    return `images ${sizes}; ingress published on port ${port}, portal on ${portalPort}`;
  });
  await step('every service healthy, migrate exited 0', async () => {
    await waitHealthy(SERVICES);
    const seed = logsTail('migrate', 40)
      .split('\n')
      .filter((l) => /allowed from|SMSC connection simulator|migration/i.test(l))
      .map((l) => l.replace(/^[^|]*\|\s*/, '').trim());
    return `${SERVICES.join(', ')}; ${seed.join('; ')}`;
  });
  await step('connector bound to the simulator', async () => {
    const until = Date.now() + 60_000;
    for (;;) {
      const text = connectorBound();
      const sim = JSON.parse(text).connections?.find((c) => c.name === 'simulator');
      if (sim?.bound) return `connection simulator: ${JSON.stringify(sim.sessions)}, window ${sim.window}, tps ${sim.tps}`;
      if (Date.now() > until) throw new Error(`not bound within 60 s: ${text.slice(0, 400)}`);
      await sleep(1000);
    }
  });
  await step('portal: operator login through its published port', async () => {
    const page = await fetch(`http://127.0.0.1:${portalPort}/`);
    if (page.status !== 200 || !/<html/i.test(await page.text())) throw new Error(`GET / answered ${page.status}`);
    const res = await fetch(`http://127.0.0.1:${portalPort}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'operator', password: 'operator-pass' }),
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`login answered ${res.status}: ${body.slice(0, 200)}`);
    return `GET / 200, POST /api/auth/login 200 (${JSON.parse(body).role ?? body.slice(0, 60)})`;
  });
  await step('partner setup through the admin CLI (status URL -> partner-sink, rate limit 500/s)', () => {
    // The sink's address is private: docker-compose.test.yml allows private callback targets.
    admin('partner', 'update', 'demo', '--status-url', SINK_URL, '--rate-limit', '500');
    const shown = JSON.parse(admin('partner', 'show', 'demo', '--json'));
    if (shown.statusUrl !== SINK_URL) throw new Error(`statusUrl is ${shown.statusUrl}`);
    return `statusUrl ${shown.statusUrl}, rateLimit ${shown.rateLimit}, allowedIps ${shown.allowedIps.join(' ')}`;
  });
  await sleep(1500); // partner changes reach running services within a second
  let firstId;
  await step('one message through the ingress container reaches status 2', async () => {
    firstId = await send('Hello from test:compose');
    const until = Date.now() + 60_000;
    for (;;) {
      const st = (await statuses([firstId])).get(firstId);
      if (st === 2) return `transactionId ${firstId}: status 2`;
      if (st === 5 || st === -1) throw new Error(`transactionId ${firstId}: status ${st}`);
      if (Date.now() > until) throw new Error(`transactionId ${firstId}: status ${st} after 60 s`);
      await sleep(300);
    }
  });
  await step('its delivery report reaches the partner sink container', async () => {
    const until = Date.now() + 60_000;
    for (;;) {
      const got = sinkReports().byId.get(firstId);
      if (got?.some((q) => q.status === '2')) return `GET /dlr?${new URLSearchParams(got[0])}`;
      if (Date.now() > until) throw new Error(`no report for ${firstId} at the sink after 60 s`);
      await sleep(500);
    }
  });
  await step('callback-worker scaled to 3', async () => {
    compose(['up', '-d', '--no-recreate', '--scale', 'callback-worker=3']);
    await waitHealthy(SERVICES, { counts: { 'callback-worker': 3 } });
    return containers('callback-worker').map((c) => c.name).join(', ');
  });
  await step(`${BATCH} messages with 3 callback workers and one smsc-connector: all final, all reports delivered`, async () => {
    const before = new Map(reportsPerWorker().map((w) => [w.name, w.ok]));
    const ids = await sendMany(BATCH, 'scaled');
    const { final, reported, dupes } = await waitDelivered(ids);
    const per = reportsPerWorker().map((w) => ({ ...w, batch: w.ok - (before.get(w.name) ?? 0) }));
    const working = per.filter((w) => w.batch > 0).length;
    if (working < 2) throw new Error(`only ${working} of 3 workers pushed reports: ${per.map((w) => `${w.name} ${w.batch}`).join(', ')}`);
    return `${final}/${BATCH} at status 2, ${reported}/${BATCH} reports at the sink (${dupes} sent twice); reports per worker: ${per.map((w) => w.batch).join(' + ')}`;
  });
  await step(`one callback-worker restarted in the middle of ${BATCH} messages: nothing lost`, async () => {
    const victim = containers('callback-worker')[0];
    let sent = 0;
    let restarted;
    let sentAtRestart;
    let sentAfterRestart;
    const ids = await sendMany(BATCH, 'restart', {
      concurrency: 4,
      onSent: (n) => {
        sent = n;
        if (!restarted && n >= BATCH / 3) {
          sentAtRestart = n;
          restarted = new Promise((resolve, reject) => {
            const t = Date.now();
            const p = spawn('docker', ['restart', '--time', '30', victim.id], { stdio: 'ignore' });
            p.on('exit', (code) => {
              sentAfterRestart = sent;
              return code === 0 ? resolve(Date.now() - t) : reject(new Error(`docker restart exited ${code}`));
            });
          });
        }
      },
    });
    const restartMs = await restarted;
    const { final, reported, dupes } = await waitDelivered(ids);
    await waitHealthy(SERVICES, { counts: { 'callback-worker': 3 } });
    return (
      `${victim.name} restarted (SIGTERM, drain, start: ${seconds(restartMs)}) while messages ${sentAtRestart}-${sentAfterRestart} of ${BATCH} were sent; ` +
      `${final}/${BATCH} at status 2, ${reported}/${BATCH} reports at the sink (${dupes} sent twice)`
    );
  });
}

async function finish(failed) {
  if (failed && upStarted) {
    fs.mkdirSync(artifacts, { recursive: true });
    const r = compose(['logs', '--no-color', '--tail', '300'], { allowFail: true });
    fs.writeFileSync(path.join(artifacts, 'logs.txt'), `${r.stdout}${r.stderr}`);
    fs.writeFileSync(path.join(artifacts, 'ps.txt'), compose(['ps'], { allowFail: true }).stdout);
    process.stdout.write(`logs: ${path.relative(root, artifacts)}/logs.txt\n`);
  }
  if (upStarted && process.env.KEEP !== '1') {
    await step('down -v', () => {
      compose(['--profile', 'tools', 'down', '-v', '--remove-orphans']);
      return `project ${project} removed with its volumes`;
    }).catch(() => {});
  } else if (upStarted) {
    process.stdout.write(`KEEP=1: left running (project ${project}, ingress on 127.0.0.1:${port})\n`);
  }
  const passed = results.filter((r) => r.ok).length;
  process.stdout.write(`\ntest:compose ${failed ? 'FAILED' : 'passed'} in ${seconds(Date.now() - started)}\n`);
  process.stdout.write(`${passed} passed, ${results.length - passed} failed\n`);
}

main().then(
  () => finish(false),
  async (err) => {
    if (!results.some((r) => !r.ok)) process.stdout.write(`✘ ${err.message}\n`);
    await finish(true);
    process.exitCode = 1;
  },
);
