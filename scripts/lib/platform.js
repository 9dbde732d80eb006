// The platform as `npm start` runs it (scripts/start.js), for the benches that measure it whole
// (bench:kannel, bench:scale): on a fresh bench database, Redis prefix and ports; its processes
// found by their dist/main.js for /proc readings; the admin CLI against it; stopped and cleaned up
// (database, Redis keys, journals).
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const lib = require('./services');

const { root } = lib;
const fromDb = (name) => require(require.resolve(name, { paths: [path.join(root, 'packages/db')] }));
const fromCommon = (name) => require(require.resolve(name, { paths: [path.join(root, 'packages/common')] }));

/** Which service a process runs, by the dist/main.js on its command line (null: none of them). */
function appOf(pid) {
  const argv = lib.cmdline(pid);
  return lib.START_SERVICES.find((a) => argv.some((x) => x.endsWith(path.join('apps', a, 'dist', 'main.js')))) ?? null;
}

/** The service processes among `pids`, by service: { 'ingress-api': [pid, …], … }. */
function servicePids(pids) {
  const out = {};
  for (const pid of pids) {
    const app = appOf(pid);
    if (app) (out[app] ??= []).push(pid);
  }
  return out;
}

/** Kills pids that outlived the process that started them (checked by command line, so a reused pid is left alone). */
function killLeftovers(pids, say) {
  for (const { pid, argv } of pids) {
    const now = lib.cmdline(pid);
    if (now.length && now.join(' ') === argv.join(' ')) {
      try {
        process.kill(pid, 'SIGKILL');
        say(`killed leftover ${argv.slice(-1)[0]} (pid ${pid})`);
      } catch {
        // gone meanwhile
      }
    }
  }
}

/**
 * Drops `benchDb` and the keys under `prefix`, then starts scripts/start.js with `env` (the bench's
 * ports, simulator settings, …) plus the bench database, Redis and prefix, through `spawnStart(env)`
 * (the caller's spawn, with its output handling), and waits for every service's /health.
 */
async function launchPlatform({ adminUrl, redisUrl, benchDb, prefix, ports, env, spawnStart, keepDb = false, say = (l) => process.stdout.write(`${l}\n`) }) {
  const { Pool } = fromDb('pg');
  const Redis = fromCommon('ioredis');
  const admin = new Pool({ connectionString: lib.withDatabase(adminUrl, 'postgres'), max: 1 });
  admin.on('error', () => {});
  await admin.query(`DROP DATABASE IF EXISTS "${benchDb}" WITH (FORCE)`);
  const redis = new Redis(redisUrl);
  await lib.clearRedisPrefix(redis, prefix);
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]) || null;
  const databaseUrl = lib.withDatabase(adminUrl, benchDb);
  const platformEnv = {
    ...env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    ...lib.platformPortEnv(ports),
    // The benches' sinks are on 127.0.0.1: allow callbacks to private addresses where the worker checks.
    CALLBACK_ALLOW_PRIVATE_TARGETS: 'true',
  };
  const start = spawnStart(platformEnv);
  const alive = () => {
    if (start.exitCode !== null || start.signalCode !== null) throw new Error(`npm start exited (${start.signalCode ?? start.exitCode}); see its lines above`);
  };
  const pool = new Pool({ connectionString: databaseUrl, max: 2, application_name: 'bench' });
  pool.on('error', () => {});
  const cleanupDb = async () => {
    await pool.end().catch(() => {});
    if (!keepDb) await admin.query(`DROP DATABASE IF EXISTS "${benchDb}" WITH (FORCE)`).catch(() => {});
    await admin.end().catch(() => {});
    await lib.clearRedisPrefix(redis, prefix).catch(() => {});
    await redis.quit().catch(() => {});
    // The connector's and callback workers' journals of the bench database (CONNECTOR_JOURNAL_DIR,
    // CALLBACK_JOURNAL_DIR, both var/journal by default, under the repository when run from it).
    if (!keepDb) fs.rmSync(path.join(root, 'var', 'journal', benchDb), { recursive: true, force: true });
  };
  const children = () => lib.childPids(start.pid).map((pid) => ({ pid, argv: lib.cmdline(pid) }));
  let lastChildren = [];
  const stop = async () => {
    lastChildren = children().length ? children() : lastChildren;
    start.benchStopping = true;
    if (start.exitCode === null && start.signalCode === null) {
      const exited = new Promise((r) => start.once('exit', r));
      start.kill('SIGTERM');
      const timer = setTimeout(() => start.kill('SIGKILL'), 30000);
      await exited;
      clearTimeout(timer);
    }
    killLeftovers(lastChildren, say);
    await cleanupDb();
  };
  try {
    for (const [name, port] of [
      ['smsc-simulator', ports.simHttp],
      ['ingress-api', ports.ingress],
      ['smpp-server', ports.smppServerHttp],
      ['smsc-connector', ports.connector],
      ['callback-worker', ports.callback],
      ['scheduler', ports.scheduler],
      ['portal', ports.portal],
    ]) {
      await lib.waitForHealth(name, port, 120000, alive);
    }
    lastChildren = children();
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    start,
    env: platformEnv,
    databaseUrl,
    pool,
    redisPid,
    /** Throws when start.js or one of its services is gone. */
    check() {
      alive();
      const s = servicePids(lib.childPids(start.pid));
      for (const app of lib.START_SERVICES) if (!s[app]) throw new Error(`${app} is not running any more; see its lines above`);
    },
    /** start.js's service processes, by service. */
    services: () => servicePids(lib.childPids(start.pid)),
    /**
     * PostgreSQL's processes: the backends serving the bench database (not the bench's own pool),
     * and the server's own (WAL writer, checkpointer, …), which every database on the server shares.
     */
    async postgresPids() {
      const { rows } = await pool.query(`SELECT pid, datname, backend_type, application_name FROM pg_stat_activity WHERE pid <> pg_backend_pid()`);
      return {
        backends: rows.filter((r) => r.datname === benchDb && r.application_name !== 'bench').map((r) => r.pid),
        shared: rows.filter((r) => r.datname === null && r.backend_type !== 'client backend').map((r) => r.pid),
      };
    },
    /** The admin CLI (apps/admin) against the bench database; throws with its output when it fails. */
    adminCli(args, input) {
      const r = spawnSync(process.execPath, [path.join(root, 'apps/admin/dist/main.js'), ...args], { cwd: root, env: platformEnv, encoding: 'utf8', input });
      if (r.status !== 0) throw new Error(`admin ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
    },
    stop,
  };
}

/** Spawns scripts/start.js with `env`, its service lines prefixed, the rest (migrate, seed, banner) left out. */
function spawnStartJs(env, name = 'start.js') {
  const start = spawn(process.execPath, [path.join(root, 'scripts/start.js')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  lib.prefixOutput(start, name, process.stdout, (line) => line.startsWith('[') && !/^\[\S+\] exited/.test(line));
  return start;
}

module.exports = { launchPlatform, spawnStartJs, servicePids, appOf, killLeftovers };
