// `npm start`: checks PostgreSQL and Redis, migrates, seeds the demo partner and runs every
// service that exists, each in its own process, until Ctrl-C (which stops them gracefully).
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { preflight } = require('./preflight');

const root = path.resolve(__dirname, '..');
/** Services in start order; an app joins this list when it exists. */
const SERVICES = ['ingress-api'];

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

  const children = [];
  let stopping = false;
  for (const name of SERVICES) {
    const main = path.join(root, 'apps', name, 'dist', 'main.js');
    if (!fs.existsSync(main)) continue;
    const child = spawn(process.execPath, [main], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
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
  }

  const port = process.env.INGRESS_PORT || 8080;
  process.stdout.write(
    `\nThe platform is starting. Partner API: http://127.0.0.1:${port}  (demo partner: serviceId=demo pass=demo-pass)\n` +
      `  curl 'http://127.0.0.1:${port}/send?serviceId=demo&pass=demo-pass&clientId=79036550550&message=Hello'\n` +
      'Ctrl-C stops everything.\n\n',
  );

  function stop(code) {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    const timer = setTimeout(() => process.exit(code), 15000);
    timer.unref();
    Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.on('exit', r))))).then(() => process.exit(code));
  }
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
}

main();
