// `npm run bench:callbacks`: the callback worker pushing delivery reports to local partner sinks.
// Runs on its own database and Redis prefix. The sink (two HTTP servers: one answering at once,
// one after BENCH_SLOW_MS) and the worker are child processes, so neither competes with this
// script's event loop.
//   phase 1: BENCH_REPORTS (default 30000) reports for real message rows, one healthy partner:
//            callbacks/s from the moment the queue is released to the last report received.
//   phase 2: the same number for a fast partner, plus BENCH_SLOW_REPORTS (default 3000) for a
//            partner answering in 2 s, interleaved in the queue: the fast partner's callbacks/s
//            while the slow one is being served.
// Both bench partners allow BENCH_PARTNER_CONCURRENCY (default 128) requests in flight
// (partner.callback_concurrency). The worker runs with BENCH_NODE_ARGS (default
// --max-semi-space-size=32, as its `npm start` does); BENCH_WORKER_ENV="CALLBACK_CONCURRENCY=1024 ..."
// passes settings to it. Reports are queued as the connector queues them: batch jobs of
// BENCH_DLR_BATCH (default 100) reports; BENCH_DLR_BATCH=0 queues one job per report (as retries,
// re-sends and the scheduler's sweep do, and as the connector did before batch jobs).
// Each phase also prints the Redis Lua script calls (EVALSHA + EVAL, from INFO commandstats) per
// report: run it against a Redis nobody else uses (REDIS_URL) for a clean count.
const { fork, spawn, spawnSync } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');

if (process.argv[2] === '--sink') {
  runSink();
} else {
  main().catch((e) => {
    process.stderr.write(`bench:callbacks failed: ${e.stack || e.message}\n`);
    process.exit(1);
  });
}

// ---------------------------------------------------------------------------------------------
// The sink (child process): counts reports per partner path, answers 200 (after a delay on /slow).
// ---------------------------------------------------------------------------------------------
function runSink() {
  const slowMs = Number(process.env.BENCH_SLOW_MS || 2000);
  const counts = new Map();
  const handler = (delay) => (req, res) => {
    const p = req.url.slice(0, req.url.indexOf('?') >>> 0);
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('OK');
      const c = counts.get(p) || { n: 0, first: 0, last: 0, perSecond: [] };
      if (c.n === 0) c.first = Date.now();
      c.n++;
      c.last = Date.now();
      const sec = Math.floor((c.last - c.first) / 1000);
      c.perSecond[sec] = (c.perSecond[sec] || 0) + 1;
      counts.set(p, c);
    };
    if (delay) setTimeout(answer, delay);
    else answer();
  };
  const fast = http.createServer(handler(0));
  const slow = http.createServer(handler(slowMs));
  for (const s of [fast, slow]) s.keepAliveTimeout = 60_000;
  fast.listen(0, '127.0.0.1', () =>
    slow.listen(0, '127.0.0.1', () => process.send({ type: 'ready', fastPort: fast.address().port, slowPort: slow.address().port })),
  );
  process.on('message', (m) => {
    if (m.type === 'stats') process.send({ type: 'stats', id: m.id, counts: Object.fromEntries(counts) });
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------------------------
async function main() {
  const root = path.resolve(__dirname, '..');
  const { Pool } = require('pg');
  const Redis = require('ioredis');
  const { Queue } = require('bullmq');
  const { preflight } = require('./preflight');

  const reports = Number(process.env.BENCH_REPORTS || 30000);
  const slowReports = Number(process.env.BENCH_SLOW_REPORTS || 3000);
  const workerPort = Number(process.env.BENCH_PORT || 18091);
  const batchSize = Number(process.env.BENCH_DLR_BATCH ?? 100);
  const partnerConcurrency = Number(process.env.BENCH_PARTNER_CONCURRENCY || 128);
  const adminUrl = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
  const benchDb = 'smsgw_bench_callbacks';
  const databaseUrl = withDatabase(adminUrl, benchDb);
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const prefix = 'smsgwbenchcb';
  const workerMain = path.join(root, 'apps/callback-worker/dist/main.js');

  const problem = await preflight();
  if (problem) throw new Error(problem);
  if (!require('node:fs').existsSync(workerMain)) throw new Error(`${workerMain} not found: run npx turbo run build --filter=@smsgw/callback-worker... first`);

  const admin = new Pool({ connectionString: withDatabase(adminUrl, 'postgres'), max: 1 });
  await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
  const mig = spawnSync('npm', ['run', '--silent', 'db:migrate'], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl }, encoding: 'utf8' });
  if (mig.status !== 0) throw new Error(`migration failed: ${mig.stderr || mig.stdout}`);

  const redis = new Redis(redisUrl);
  await deleteKeys(redis, prefix);
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const queueConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('callback.dlr', { prefix, connection: queueConnection });

  const sink = fork(__filename, ['--sink'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: process.env });
  const { fastPort, slowPort } = await new Promise((resolve) => sink.once('message', resolve));
  let statsSeq = 0;
  const sinkStats = () =>
    new Promise((resolve) => {
      const id = ++statsSeq;
      const on = (m) => {
        if (m.type === 'stats' && m.id === id) {
          sink.off('message', on);
          resolve(m.counts);
        }
      };
      sink.on('message', on);
      sink.send({ type: 'stats', id });
    });

  const extraEnv = Object.fromEntries((process.env.BENCH_WORKER_ENV || '').split(/\s+/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '--max-semi-space-size=32').split(' ').filter(Boolean);
  // The sink is on 127.0.0.1: private callback targets allowed (BENCH_WORKER_ENV may say otherwise).
  const worker = spawn(process.execPath, [...nodeArgs, workerMain], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, CALLBACK_HTTP_PORT: String(workerPort), CALLBACK_HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', CALLBACK_ALLOW_PRIVATE_TARGETS: 'true', ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const workerExit = new Promise((resolve) => worker.on('exit', resolve));

  let nextId = 1_000_000_000;
  const partner = async (login, port, pathName) =>
    (
      await pool.query(`INSERT INTO partner (login, api_password_hash, status_url, callback_concurrency) VALUES ($1, 'x', $2, $3) RETURNING id`, [
        login,
        `http://127.0.0.1:${port}${pathName}?src=bench`,
        partnerConcurrency,
      ])
    ).rows[0].id;
  const messages = async (partnerId, n) => {
    const first = nextId;
    nextId += n;
    await pool.query(
      `INSERT INTO message (id, partner_id, ptag, sender, msisdn, text, encoding, segments, status, valid_until, submitted_at, done_at)
       SELECT $1::bigint + g, $2, 'bench', 'BENCH', '79030000000', 'Your code is 4711', 0, 1, 2, now() + interval '1 day', now(), now()
       FROM generate_series(0, $3 - 1) AS g`,
      [first, partnerId, n],
    );
    return Array.from({ length: n }, (_, i) => String(first + i));
  };
  const job = (partnerId, messageId) => ({ messageId, partnerId, status: 2 });
  /** As the connector queues them: a batch job per BENCH_DLR_BATCH reports, or one job per report. */
  const bullJobs = (reports) => {
    if (batchSize <= 0) return reports.map((r) => ({ name: 'callback.dlr', data: r, opts: { jobId: `d${r.messageId}-${r.status}`, removeOnComplete: true, removeOnFail: 10000 } }));
    const jobs = [];
    for (let i = 0; i < reports.length; i += batchSize) jobs.push({ name: 'callback.dlr', data: { reports: reports.slice(i, i + batchSize) }, opts: { removeOnComplete: true, removeOnFail: 10000 } });
    return jobs;
  };
  /** Lua script calls Redis has run so far (every client: use a Redis of its own for a clean count). */
  const luaCalls = async () => [...(await redis.info('commandstats')).matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  /** Queues the jobs while the queue is paused, then releases them all at once; returns the release time. */
  const release = async (reports) => {
    const jobs = bullJobs(reports);
    await queue.pause();
    for (let i = 0; i < jobs.length; i += 2000) await queue.addBulk(jobs.slice(i, i + 2000));
    const at = Date.now();
    await queue.resume();
    return at;
  };
  const waitCount = async (pathName, n, timeoutMs) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const c = (await sinkStats())[pathName];
      if (c && c.n >= n) return c;
      if (Date.now() > until) throw new Error(`${pathName}: ${c ? c.n : 0}/${n} reports after ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  };

  try {
    await waitForHealth(workerPort);

    // Warm-up: JIT, connection pools, the partner's keep-alive connections.
    const warm = await partner('bench-warm', fastPort, '/warm');
    const warmIds = await messages(warm, 2000);
    await release(warmIds.map((id) => job(warm, id)));
    await waitCount('/warm', warmIds.length, 60_000);

    // Phase 1: one healthy partner.
    const p1 = await partner('bench-fast', fastPort, '/fast1');
    const ids1 = await messages(p1, reports);
    process.stdout.write(
      `bench:callbacks: ${reports} delivery reports for real message rows; partner concurrency ${partnerConcurrency}; worker: node ${[...nodeArgs, path.relative(root, workerMain)].join(' ')} ${Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`).join(' ')}\n`,
    );
    const commits = async () => Number((await pool.query('SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()')).rows[0].xact_commit);
    const commits0 = await commits();
    const pids = {
      worker: worker.pid,
      sink: sink.pid,
      redis: Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]),
      postgres: (await pool.query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'callback-worker' AND datname = current_database()`)).rows.map((r) => r.pid),
    };
    const cpu1 = cpuSnapshot(pids);
    const lua1 = await luaCalls();
    const t1 = await release(ids1.map((id) => job(p1, id)));
    const c1 = await waitCount('/fast1', reports, 300_000);
    const load1 = cpuUse(cpu1, cpuSnapshot(pids), reports);
    const luaPerReport1 = ((await luaCalls()) - lua1) / reports;
    const secs1 = (c1.last - t1) / 1000;
    const rate1 = reports / secs1;
    await sleep(300);
    const commits1 = (await commits()) - commits0;
    const stored = await pool.query(
      `SELECT count(*) FILTER (WHERE state = 'delivered')::int AS delivered, (SELECT count(*)::int FROM callback_attempt WHERE partner_id = $1) AS attempts
       FROM callback WHERE partner_id = $1`,
      [p1],
    );
    process.stdout.write(
      `phase 1  healthy partner       ${Math.round(rate1)} callbacks/s  (${reports} in ${secs1.toFixed(2)} s; ` +
        `attempts logged ${stored.rows[0].attempts}, ${(reports / commits1).toFixed(1)} reports per PostgreSQL transaction, ${luaPerReport1.toFixed(2)} Redis Lua calls per report)\n` +
        (load1 ? `         ${load1.text}\n` : ''),
    );

    // Phase 2: the same fast load, with a partner answering in 2 s interleaved in the queue.
    const fast = await partner('bench-fast-2', fastPort, '/fast2');
    const slow = await partner('bench-slow', slowPort, '/slow');
    const ids2 = await messages(fast, reports);
    const slowIds = await messages(slow, slowReports);
    const jobs = [];
    const every = slowReports > 0 ? Math.max(1, Math.floor(reports / slowReports)) : Infinity;
    let s = 0;
    ids2.forEach((id, i) => {
      if (i % every === 0 && s < slowIds.length) jobs.push(job(slow, slowIds[s++]));
      jobs.push(job(fast, id));
    });
    while (s < slowIds.length) jobs.push(job(slow, slowIds[s++]));
    pids.postgres = (await pool.query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'callback-worker' AND datname = current_database()`)).rows.map((r) => r.pid);
    const commits2 = await commits();
    const cpu2 = cpuSnapshot(pids);
    const lua2 = await luaCalls();
    const t2 = await release(jobs);
    const c2 = await waitCount('/fast2', reports, 300_000);
    const load2 = cpuUse(cpu2, cpuSnapshot(pids), reports);
    const luaCalls2 = (await luaCalls()) - lua2;
    const transactions2 = (await commits()) - commits2;
    const secs2 = (c2.last - t2) / 1000;
    const rate2 = reports / secs2;
    const stats2 = await sinkStats();
    const slowDone = (stats2['/slow'] || { n: 0 }).n;
    const luaPerReport2 = luaCalls2 / (reports + slowDone);
    if (process.env.BENCH_VERBOSE) process.stdout.write(`         per second: phase 1 ${c1.perSecond.join(' ')}; phase 2 fast ${stats2['/fast2'].perSecond.join(' ')}; slow ${(stats2['/slow'] || { perSecond: [] }).perSecond.join(' ')}\n`);
    const share = rate2 / rate1;
    // The same comparison by the worker's CPU time per fast callback: what phase 2 costs the
    // worker more, whatever other processes took from it in either phase.
    const cpuShare = load1 && load2 ? load1.usPerCallback / load2.usPerCallback : null;
    process.stdout.write(
      `phase 2  fast partner          ${Math.round(rate2)} callbacks/s  (${reports} in ${secs2.toFixed(2)} s; ${((reports + slowDone) / transactions2).toFixed(1)} reports per PostgreSQL transaction, ${luaPerReport2.toFixed(2)} Redis Lua calls per report answered) = ${(share * 100).toFixed(0)}% of phase 1\n` +
        `         2 s partner           ${slowDone}/${slowReports} answered meanwhile (${(slowDone / secs2).toFixed(1)}/s)\n` +
        (load2 ? `         ${load2.text}\n` : '') +
        (cpuShare ? `         by the worker's CPU time per fast callback, phase 2 runs at ${(cpuShare * 100).toFixed(0)}% of phase 1's pace (independent of other load on the machine)\n` : ''),
    );
    const metrics = await fetch(`http://127.0.0.1:${workerPort}/metrics`).then((r) => r.text());
    const deferred = [...metrics.matchAll(/^smsgw_callback_deferred_total\{kind="dlr",reason="(\w+)"\} (\d+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    process.stdout.write(`         jobs put back as delayed (whole run): ${deferred.join(', ') || 'none'}\n`);
    const out = {
      reports,
      slowReports,
      phase1PerSecond: Math.round(rate1),
      phase2FastPerSecond: Math.round(rate2),
      fastShare: Number(share.toFixed(3)),
      batchSize,
      luaCallsPerReport: [Number(luaPerReport1.toFixed(2)), Number(luaPerReport2.toFixed(2))],
      slowAnsweredDuringPhase2: slowDone,
      ...(load1 && load2
        ? {
            workerCpuUsPerCallback: [Math.round(load1.usPerCallback), Math.round(load2.usPerCallback)],
            workerCores: [Number(load1.workerCores.toFixed(2)), Number(load2.workerCores.toFixed(2))],
            machineBusyCores: [Number(load1.machineBusy.toFixed(2)), Number(load2.machineBusy.toFixed(2))],
            fastShareByCpu: Number(cpuShare.toFixed(3)),
            otherProcessesCores: [Number(load1.othersCores.toFixed(2)), Number(load2.othersCores.toFixed(2))],
          }
        : {}),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    worker.kill('SIGTERM');
    const forced = setTimeout(() => worker.kill('SIGKILL'), 15_000);
    await workerExit;
    clearTimeout(forced);
    sink.disconnect();
    await queue.close();
    queueConnection.disconnect();
    await deleteKeys(redis, prefix);
    await redis.quit();
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
    await admin.end();
  }
}

/**
 * CPU time (Linux /proc; null elsewhere) of the worker, of everything it uses (its PostgreSQL
 * backends, Redis, the sink) and of the whole machine. Other processes on the machine take CPU
 * from the worker and make the two phases incomparable; CPU time per callback does not depend on
 * them, so it shows what the slow partner costs.
 */
function cpuSnapshot(pids) {
  try {
    const fs = require('node:fs');
    const ticks = (pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks
      } catch {
        return 0; // exited meanwhile
      }
    };
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = cpu[3] + (cpu[4] || 0);
    const total = cpu.reduce((a, b) => a + b, 0);
    const own = Object.fromEntries(Object.entries(pids).flatMap(([k, v]) => [].concat(v).map((pid) => [`${k}:${pid}`, ticks(pid)])));
    return { at: Date.now(), own, busy: total - idle, total, cores: require('node:os').cpus().length };
  } catch {
    return null;
  }
}

function cpuUse(a, b, callbacks) {
  if (!a || !b || b.total === a.total) return null;
  const hz = 100; // USER_HZ on Linux
  const secs = (b.at - a.at) / 1000;
  // Per process group (worker, postgres, ...): processes that ran the whole phase (a PostgreSQL
  // backend may come or go with the worker's pool).
  const ticks = (group) => Object.keys(a.own).filter((k) => k.startsWith(`${group}:`) && b.own[k] > 0).reduce((sum, k) => sum + b.own[k] - a.own[k], 0);
  const cores = (k) => ticks(k) / hz / secs;
  const us = (k) => ((ticks(k) / hz) * 1e6) / callbacks;
  const machineBusy = ((b.busy - a.busy) / (b.total - a.total)) * a.cores;
  const benchCores = ['worker', 'postgres', 'redis', 'sink'].reduce((sum, k) => sum + cores(k), 0);
  return {
    workerCores: cores('worker'),
    machineBusy,
    othersCores: Math.max(0, machineBusy - benchCores),
    usPerCallback: us('worker'),
    text:
      `CPU per fast callback: worker ${Math.round(us('worker'))} µs, PostgreSQL ${Math.round(us('postgres'))} µs, Redis ${Math.round(us('redis'))} µs (the server, other clients included), sink ${Math.round(us('sink'))} µs; ` +
      `worker ran on ${cores('worker').toFixed(2)} core; machine busy ${machineBusy.toFixed(2)} of ${a.cores} cores, ${Math.max(0, machineBusy - benchCores).toFixed(2)} of them not this bench`,
  };
}

function withDatabase(url, db) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function deleteKeys(redis, prefix) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

async function waitForHealth(port) {
  const until = Date.now() + 20000;
  while (Date.now() < until) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await sleep(200);
  }
  throw new Error('callback worker did not become healthy within 20 s');
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
