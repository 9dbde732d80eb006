// A PostgreSQL cluster and a Redis server of a script's own, in a temporary directory, that the
// script may stop, crash and restart without touching the machine's PostgreSQL or Redis (test:chaos).
//   const pg = new PrivatePostgres(dir, port); await pg.init(); await pg.start(); ... await pg.stop('immediate');
//   const redis = new PrivateRedis(dir, port); await redis.start(); ... await redis.restartEmpty();
// Both are removed by `destroy()`; `destroySync()` is for process exit handlers.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const PG_BIN = process.env.CHAOS_PG_BIN || '/usr/lib/postgresql/15/bin';

/** Runs a PostgreSQL tool as the `postgres` OS user when this process is root (initdb refuses root). */
function pgCommand(tool, args) {
  const bin = path.join(PG_BIN, tool);
  return process.getuid && process.getuid() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

function run(tool, args, timeoutMs = 120_000) {
  const [cmd, argv] = pgCommand(tool, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${tool} ${args.join(' ')} exited ${code}: ${out.trim().slice(-1500)}`));
    });
  });
}

function ownByPostgres(dir) {
  if (!(process.getuid && process.getuid() === 0)) return;
  const r = spawnSync('chown', ['-R', 'postgres:postgres', dir]);
  if (r.status !== 0) throw new Error(`chown postgres ${dir} failed: ${r.stderr}`);
}

class PrivatePostgres {
  /** `dir`: an empty directory of its own; `port`: a free TCP port on 127.0.0.1. */
  constructor(dir, port) {
    this.dir = dir;
    this.data = path.join(dir, 'data');
    this.socketDir = path.join(dir, 'socket');
    this.logFile = path.join(dir, 'postgres.log');
    this.port = port;
    this.running = false;
    this.url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  }

  async init() {
    fs.mkdirSync(this.data, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.socketDir, { recursive: true });
    fs.writeFileSync(this.logFile, '');
    ownByPostgres(this.dir);
    await run('initdb', ['-D', this.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  }

  /** Starts the cluster (crash recovery after an immediate stop) and waits until it accepts connections. */
  async start() {
    const options = `-p ${this.port} -k ${this.socketDir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300`;
    await run('pg_ctl', ['-D', this.data, '-l', this.logFile, '-w', '-t', '120', '-o', options, 'start']);
    this.running = true;
  }

  /** `immediate`: as a crash or power loss would stop it (no checkpoint; recovery at the next start). */
  async stop(mode = 'immediate') {
    await run('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  async destroy() {
    if (this.running) await this.stop('immediate').catch(() => {});
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  destroySync() {
    if (this.running) {
      const [cmd, argv] = pgCommand('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
      spawnSync(cmd, argv, { stdio: 'ignore', timeout: 35_000 });
      this.running = false;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

class PrivateRedis {
  /** `dir`: a directory of its own for the append-only file; `port`: a free TCP port on 127.0.0.1. */
  constructor(dir, port, logFile) {
    this.dir = dir;
    this.port = port;
    this.logFile = logFile;
    this.child = null;
    this.url = `redis://127.0.0.1:${port}`;
  }

  /** As docker-compose.yml runs it: AOF on, no RDB snapshots. */
  async start() {
    fs.mkdirSync(this.dir, { recursive: true });
    const log = fs.openSync(this.logFile, 'a');
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', this.dir, '--maxmemory-policy', 'noeviction'];
    this.child = spawn(process.env.CHAOS_REDIS_SERVER || 'redis-server', args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const child = this.child;
    const until = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited ${child.exitCode}; see ${this.logFile}`);
      if (await answersPing(this.port)) return;
      if (Date.now() > until) throw new Error(`redis-server did not answer on ${this.port} within 20 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** kill -9. */
  async kill() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Killed, its files deleted, started again: every key is gone. */
  async restartEmpty() {
    await this.kill();
    for (const f of fs.readdirSync(this.dir)) fs.rmSync(path.join(this.dir, f), { recursive: true, force: true });
    await this.start();
  }

  async destroy() {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  destroySync() {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function answersPing(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(String(d).startsWith('+PONG')));
  });
}

module.exports = { PrivatePostgres, PrivateRedis };
