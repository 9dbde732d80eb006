// `npm run bench:release`: a million postponed messages due in the same minute, released by the
// scheduler. Runs on its own database (smsgw_bench_release, dropped at the end unless
// BENCH_KEEP=1) and Redis prefix. The messages are inserted with one INSERT … SELECT
// generate_series per chunk, all due at the start of the current minute (a campaign "at 09:00");
// then the scheduler is started as a child process the way its `npm start` runs it (node
// --max-semi-space-size=32 --max-old-space-size=128 apps/scheduler/dist/main.js; BENCH_NODE_ARGS
// replaces the node options) with its default settings (BENCH_SCHEDULER_ENV="SCHEDULER_RELEASE_BATCH=5000 ..."
// changes them), and has to queue every one on mt.dispatch (in batch jobs of up to 500). Nothing consumes the queue, so every job is in Redis at the end.
// Reported: time from the scheduler's start to the last release, releases/s, Redis peak memory
// (INFO used_memory sampled every 500 ms; used_memory_peak too when the run raised it: Redis 7.0
// cannot reset it), and the scheduler's peak RSS (VmHWM).
//   BENCH_MESSAGES (default 1000000), BENCH_PORT (18092), BENCH_TIMEOUT_S (600), BENCH_KEEP.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

main().catch((e) => {
  process.stderr.write(`bench:release failed: ${e.stack || e.message}\n`);
  process.exit(1);
});

async function main() {
  const root = path.resolve(__dirname, '..');
  const { Pool } = require('pg');
  const Redis = require('ioredis');
  const { preflight } = require('./preflight');

  const total = Number(process.env.BENCH_MESSAGES || 1_000_000);
  const port = Number(process.env.BENCH_PORT || 18092);
  const timeoutMs = Number(process.env.BENCH_TIMEOUT_S || 600) * 1000;
  const adminUrl = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
  const benchDb = 'smsgw_bench_release';
  const databaseUrl = withDatabase(adminUrl, benchDb);
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const prefix = 'smsgwbenchrel';
  const schedulerMain = path.join(root, 'apps/scheduler/dist/main.js');

  const problem = await preflight();
  if (problem) throw new Error(problem);
  if (!fs.existsSync(schedulerMain)) throw new Error(`${schedulerMain} not found: run npx turbo run build --filter=@smsgw/scheduler first`);

  const admin = new Pool({ connectionString: withDatabase(adminUrl, 'postgres'), max: 1 });
  await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
  const mig = spawnSync('npm', ['run', '--silent', 'db:migrate'], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl }, encoding: 'utf8' });
  if (mig.status !== 0) throw new Error(`migration failed: ${mig.stderr || mig.stdout}`);

  const redis = new Redis(redisUrl);
  await deleteKeys(redis, prefix);
  const pool = new Pool({ connectionString: databaseUrl, max: 4 });
  let scheduler = null;
  try {
    const partnerId = (await pool.query(`INSERT INTO partner (login, api_password_hash, postponed_enabled) VALUES ('bench-release', 'x', true) RETURNING id`)).rows[0].id;

    // All due at the start of this minute: by the time the scheduler starts, every one is due.
    const { rows } = await pool.query(`SELECT date_trunc('minute', now()) AS due`);
    const due = rows[0].due;
    const t0 = Date.now();
    const chunk = 100_000;
    const chunks = [];
    for (let from = 0; from < total; from += chunk) chunks.push([from, Math.min(total, from + chunk) - 1]);
    // Four INSERTs at a time; ids and numbers follow the series, priorities are mixed like real traffic.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let c = chunks.shift(); c; c = chunks.shift()) {
          await pool.query(
            `INSERT INTO message (id, partner_id, sender, msisdn, text, encoding, segments, priority, release_at, valid_until)
             SELECT 1000000000 + g, $1, 'BENCH', (79030000000 + g)::text, 'Sale starts now: 20% off everything until Sunday', 0, 1,
                    CASE WHEN g % 10 = 0 THEN 2 WHEN g % 10 = 1 THEN 0 ELSE 1 END, $2, $2::timestamptz + interval '1 day'
             FROM generate_series($3::int, $4::int) AS g`,
            [partnerId, due, c[0], c[1]],
          );
        }
      }),
    );
    await pool.query('VACUUM ANALYZE message');
    process.stdout.write(`bench:release: ${total} postponed messages due at ${due.toISOString()} inserted in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    const mem0 = await redisMemory(redis);
    const redisCpu0 = await redisCpu(redis);
    const extraEnv = Object.fromEntries(
      (process.env.BENCH_SCHEDULER_ENV || '').split(/\s+/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const started = Date.now();
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '--max-semi-space-size=32 --max-old-space-size=128').split(' ').filter(Boolean);
    process.stdout.write(`scheduler: node ${[...nodeArgs, path.relative(root, schedulerMain)].join(' ')} ${Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
    scheduler = spawn(process.execPath, [...nodeArgs, schedulerMain], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        SCHEDULER_HTTP_PORT: String(port),
        SCHEDULER_HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...extraEnv,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise((resolve) => scheduler.on('exit', resolve));

    let redisMax = mem0.used;
    let rssMax = 0;
    let released = 0;
    let last = { at: started, released: 0 };
    for (let tick = 0; ; tick++) {
      await sleep(500);
      if (scheduler.exitCode !== null) throw new Error(`the scheduler exited (${scheduler.exitCode})`);
      redisMax = Math.max(redisMax, (await redisMemory(redis)).used);
      rssMax = Math.max(rssMax, procStatus(scheduler.pid, 'VmRSS'));
      if (tick % 2 === 1) released = await releasedTotal(port).catch(() => released); // once a second
      if (Date.now() - last.at >= 10_000) {
        process.stdout.write(`  ${((Date.now() - started) / 1000).toFixed(0)} s: ${released} released (${Math.round((released - last.released) / ((Date.now() - last.at) / 1000))}/s)\n`);
        last = { at: Date.now(), released };
      }
      if (released >= total) break;
      if (Date.now() - started > timeoutMs) throw new Error(`${released}/${total} released after ${timeoutMs / 1000} s`);
    }
    const seconds = (Date.now() - started) / 1000;
    const hwm = procStatus(scheduler.pid, 'VmHWM');
    const schedulerCpu = procCpuSeconds(scheduler.pid);
    const redisCpuUsed = (await redisCpu(redis)) - redisCpu0;
    const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const mem1 = await redisMemory(redis);
    redisMax = Math.max(redisMax, mem1.used);
    // used_memory_peak counts only if this run raised it above where it stood before.
    const peak = mem1.peak > mem0.peak ? Math.max(mem1.peak, redisMax) : redisMax;
    const left = Number((await pool.query('SELECT count(*) FROM message WHERE status = 1 AND release_at IS NOT NULL')).rows[0].count);
    const marked = Number((await pool.query('SELECT count(*) FROM message WHERE released_at IS NOT NULL')).rows[0].count);
    // Jobs and the messages they carry (a batch job holds up to 500).
    const jobIds = await redis.zrange(`${prefix}:mt.dispatch:prioritized`, 0, -1);
    const pipeline = redis.pipeline();
    for (const id of jobIds) pipeline.hget(`${prefix}:mt.dispatch:${id}`, 'data');
    const queuedMessages = ((await pipeline.exec()) ?? []).reduce((n, [, data]) => n + (JSON.parse(data ?? '{}').messages?.length ?? 1), 0);
    scheduler.kill('SIGTERM');
    await exited;
    scheduler = null;

    const mb = (b) => `${(b / 1048576).toFixed(0)} MB`;
    const ok = (cond) => (cond ? 'ok' : 'OVER TARGET');
    process.stdout.write(
      [
        `released   ${total} in ${seconds.toFixed(1)} s (${Math.round(total / seconds)}/s, from the scheduler's start)   target < 120 s: ${ok(seconds < 120)}`,
        `           rows still due ${left}; rows marked released ${marked}; jobs waiting in mt.dispatch ${jobIds.length} (${queuedMessages} messages)`,
        `redis      peak ${mb(peak)} used_memory (before the run ${mb(mem0.used)}; ${Math.round((mem1.used - mem0.used) / total)} bytes per queued message; ` +
          `the Redis is shared, its other data counts too)   target < 1 GB: ${ok(peak < 1024 ** 3)}`,
        `scheduler  peak RSS ${mb(hwm * 1024)} (VmHWM; highest sampled VmRSS ${mb(rssMax * 1024)})   target < 300 MB: ${ok(hwm * 1024 < 300 * 1048576)}`,
        `cpu        scheduler ${schedulerCpu.toFixed(1)} s, Redis ${redisCpuUsed.toFixed(1)} s (all of Redis's clients); load average at the end ${load}`,
        'The machine is shared: other processes use the same cores, PostgreSQL and Redis, so the figures vary between runs.',
        '',
      ].join('\n'),
    );
  } finally {
    if (scheduler) scheduler.kill('SIGKILL');
    await deleteKeys(redis, prefix);
    redis.disconnect();
    await pool.end();
    if (!process.env.BENCH_KEEP) await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
    await admin.end();
  }
}

async function redisMemory(redis) {
  const info = await redis.info('memory');
  const field = (name) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { used: field('used_memory'), peak: field('used_memory_peak') };
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM). */
function procStatus(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used. */
function procCpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

async function redisCpu(redis) {
  const info = await redis.info('cpu');
  const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

function releasedTotal(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        const m = /^smsgw_scheduler_released_total (\d+)/m.exec(body);
        if (m) resolve(Number(m[1]));
        else reject(new Error('no smsgw_scheduler_released_total'));
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

function withDatabase(url, db) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function deleteKeys(redis, prefix) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
