// `npm start`: checks PostgreSQL and Redis, migrates, seeds the demo partner, the simulator's
// SMSC connection and service number 4565, and runs every service that has been built, each in
// its own process, until Ctrl-C (which stops them gracefully).
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { preflight } = require('./preflight');
const { START_SERVICES: SERVICES, NODE_ARGS, root } = require('./lib/services');

const simHttpPort = Number(process.env.SIM_HTTP_PORT || 8025);

async function main() {
  const problem = await preflight();
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  for (const [what, args] of [
    ['migrate', ['run', '--silent', 'db:migrate']],
    ['seed', ['run', '--silent', 'db:seed']],
  ]) {
    const r = spawnSync('npm', args, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write(`${what} failed; see the lines above\n`);
      process.exit(1);
    }
  }

  // Development: partners' hooks here are local servers. Production leaves this off (see the
  // operator guide); a value the user set is kept.
  const env = { ...process.env };
  if (env.CALLBACK_ALLOW_PRIVATE_TARGETS === undefined) {
    env.CALLBACK_ALLOW_PRIVATE_TARGETS = 'true';
    process.stdout.write('CALLBACK_ALLOW_PRIVATE_TARGETS=true (development): callbacks may go to local and private addresses; set it to false for the production policy\n');
  }

  const children = [];
  let stopping = false;
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  const started = new Set();
  const missing = [];
  for (const name of SERVICES) {
    const main = path.join(root, 'apps', name, 'dist', 'main.js');
    if (!fs.existsSync(main)) {
      missing.push(name);
      continue;
    }
    if (stopping) break;
    // START_CPU_PROF_DIR: each service writes a CPU profile there when it stops (node --cpu-prof).
    const prof = env.START_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(env.START_CPU_PROF_DIR)}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
    const child = spawn(process.execPath, [...prof, ...(NODE_ARGS[name] || []), main], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env });
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream.on('data', (chunk) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop();
        for (const line of lines) process.stdout.write(`[${name}] ${line}\n`);
      });
    }
    child.on('exit', (code, signal) => {
      process.stdout.write(`[${name}] exited (${signal ?? code})\n`);
      if (!stopping) stop(code || 1);
    });
    children.push(child);
    started.add(name);
    // The connector binds at start: give the simulator a moment to listen first.
    if (name === 'smsc-simulator') await waitForHealth(simHttpPort, 10000, () => stopping);
  }

  const port = process.env.INGRESS_PORT || 8080;
  const lines = ['', `The platform is starting. Partner API: http://127.0.0.1:${port}  (demo partner: serviceId=demo pass=demo-pass)`];
  lines.push(`  curl 'http://127.0.0.1:${port}/send?serviceId=demo&pass=demo-pass&clientId=79036550550&message=Hello'`);
  if (started.has('smsc-simulator')) {
    lines.push(
      `SMSC simulator: SMPP on 127.0.0.1:${process.env.SIM_SMPP_PORT || 2775}, control API http://127.0.0.1:${simHttpPort}. A subscriber's message (MO) to the demo partner's number 4565:`,
      `  curl -X POST http://127.0.0.1:${simHttpPort}/mo -H 'content-type: application/json' -d '{"from":"79036550550","to":"4565","text":"Hi"}'`,
    );
  }
  if (started.has('smpp-server')) {
    lines.push(
      `SMPP for partners on 127.0.0.1:${process.env.SMPP_SERVER_PORT || 2776}: bind with system_id demo and the password this prints once:`,
      `  npm run admin -- partner smpp-password demo`,
      `Its reports and MO come over its receiver or transceiver binds (deliver_sm) once its URLs say so:`,
      `  npm run admin -- partner update demo --status-url smpp: --mo-url smpp:`,
    );
  }
  if (started.has('portal')) {
    // The seed's development accounts (packages/db/src/seed.ts); a changed password is not reset.
    lines.push(
      `Portal: http://127.0.0.1:${process.env.PORTAL_PORT || 8081}  operator: operator / operator-pass   partner (demo): demo / demo-portal-pass`,
    );
  }
  if (missing.length) {
    lines.push(`Not built, not started: ${missing.join(', ')} (no apps/<name>/dist/main.js).`);
    if (missing.includes('smsc-connector')) lines.push('  Without smsc-connector, accepted messages are stored and queued but not delivered.');
  }
  lines.push('Ctrl-C stops everything.', '', '');
  process.stdout.write(lines.join('\n'));

  function stop(code) {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    const timer = setTimeout(() => process.exit(code), 15000);
    timer.unref();
    Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.on('exit', r))))).then(() => process.exit(code));
  }
}

/** Resolves when GET /health answers 200, after `ms` (a slow service is not an error here), or when `cancelled()`. */
async function waitForHealth(port, ms, cancelled) {
  const until = Date.now() + ms;
  while (Date.now() < until && !cancelled()) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

main();
