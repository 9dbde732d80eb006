// `npm run bench:portal`: how fast the portal's main pages answer with a million messages.
// Fills a bench database (smsgw_bench_portal, recreated each run unless BENCH_REUSE=1 finds it
// filled) with BENCH_MESSAGES (1,000,000) messages over 90 days with INSERT … SELECT
// generate_series, their statistics rollup (the scheduler's own fold), 100,000 MO, segments and
// callback attempts for a fifth of the messages; then starts the built portal (child process)
// and times its API calls as the pages make them: dashboard (7, 30 and 90 days), message search
// (first page, next page, by number, by period, by sender and status, by status, a combination
// that matches nothing, by partnerMsgId), a message's timeline,
// the MO list. Prints the query plans of the searches and, per call, median, p95 and max over
// BENCH_ROUNDS (20) rounds; the goal is under 300 ms. Needs `npm run build` first.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Client, Pool } = require('pg');
const { preflight } = require('./preflight');
const { freePort, withDatabase } = require('./lib/services');
const store = require('./lib/message-store');

const root = path.resolve(__dirname, '..');
const env = process.env;
const total = int('BENCH_MESSAGES', 1_000_000, 1000);
const rounds = int('BENCH_ROUNDS', 20, 1);
const reuse = env.BENCH_REUSE === '1';
const adminUrl = env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const benchDb = 'smsgw_bench_portal';
const databaseUrl = withDatabase(adminUrl, benchDb);
const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = 'smsgwbenchportal';
const PORTAL = path.join(root, 'apps/portal/dist/main.js');
const DAYS = 90;
const PASSWORD = 'bench-password';

function int(name, fallback, min) {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min) fail(`${name}="${v}" must be a whole number of at least ${min}`);
  return Number(v);
}

function fail(message) {
  process.stderr.write(`bench:portal: ${message}\n`);
  process.exit(1);
}

const log = (s) => process.stdout.write(`${s}\n`);
const seconds = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

async function filled() {
  const c = new Client({ connectionString: databaseUrl });
  try {
    await c.connect();
    const { rows } = await c.query('SELECT count(*)::int AS n FROM message');
    return rows[0].n === total;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function fill() {
  const admin = new Client({ connectionString: withDatabase(adminUrl, 'postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
  await admin.end();
  let t0 = Date.now();
  const { runMigrate } = require(path.join(root, 'packages/db/dist/testing'));
  await runMigrate(databaseUrl);
  log(`database ${benchDb} created and migrated (${seconds(t0)})`);

  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const { hashUserPassword, hashApiPassword } = require(path.join(root, 'packages/db/dist'));
  const hash = await hashUserPassword(PASSWORD);
  // The partner the pages are timed for has 90% of the traffic; a second one shares the tables.
  const { rows: partners } = await pool.query(
    `INSERT INTO partner (login, name, api_password_hash, senders, default_sender, time_zone)
     VALUES ('bench', 'Bench partner', $1, '{BENCH,PROMO,INFO,4565}', 'BENCH', 'Europe/Moscow'), ('other', 'Other partner', $1, '{OTHER}', 'OTHER', 'UTC')
     RETURNING id`,
    [hashApiPassword('x', 'bench')],
  );
  const [bench, other] = partners.map((p) => p.id);
  await pool.query(`INSERT INTO app_user (login, password_hash, role, partner_id) VALUES ('bench', $1, 'partner', $2), ('bench-op', $1, 'operator', NULL)`, [hash, bench]);

  t0 = Date.now();
  const chunk = 100_000;
  const span = DAYS * 86_400; // seconds
  // Ids carry their hour, in the weekly partitions the scheduler would have made over the period.
  await store.weeklyPartitions(pool, Date.now() - span * 1000);
  for (let start = 0; start < total; start += chunk) {
    const n = Math.min(chunk, total - start);
    // Message g: partner bench (9 in 10), accepted g * span / total seconds after the start of the
    // period, 200,000 distinct numbers, four senders, statuses mostly delivered, 3% test traffic.
    await pool.query(
      `INSERT INTO message (id, partner_id, partner_msg_id, sender, msisdn, text, encoding, segments, status, ext_status, test,
                            valid_until, created_at, updated_at, submitted_at, done_at, smsc_connection_id)
       SELECT ${store.messageIdSql('ts', 'g')},
              CASE WHEN g % 10 = 9 THEN $3::int ELSE $2::int END,
              CASE WHEN g % 4 = 0 THEN 'order-' || g END,
              (ARRAY['BENCH','PROMO','INFO','4565'])[1 + g % 4],
              '7903' || lpad((g % 200000)::text, 7, '0'),
              'Message number ' || g || ' to a subscriber',
              0, 1 + (g % 7 = 0)::int,
              (ARRAY[2,2,2,2,2,2,2,5,0,1,2,2,2,2,5,8])[1 + g % 16],
              CASE WHEN g % 16 IN (7, 14) THEN 1 + g % 8 END,
              g % 33 = 0,
              ts + interval '1 day', ts, ts + interval '5 s', ts + interval '1 s', CASE WHEN g % 16 NOT IN (8, 9) THEN ts + interval '4 s' END, NULL
       FROM (SELECT g, now() - make_interval(secs => $5::double precision) + make_interval(secs => g::double precision * $5 / $4) AS ts
             FROM generate_series($1::bigint, $1::bigint + $6 - 1) g) s`,
      [start, bench, other, total, span, n],
    );
    process.stdout.write(`\rmessages: ${start + n} (${seconds(t0)})`);
  }
  log('');

  t0 = Date.now();
  // The partner's ids as the intake claims them (the search by partnerMsgId goes through them).
  await pool.query(`INSERT INTO message_key (partner_id, partner_msg_id, message_id) SELECT partner_id, partner_msg_id, id FROM message WHERE partner_msg_id IS NOT NULL`);
  // Segments, receipts and a delivery report for every fifth message (what the timeline reads).
  await pool.query(
    `INSERT INTO message_part (message_id, seq, smsc_message_id, status, submitted_at, done_at)
     SELECT id, 1, to_hex(id), status, submitted_at, done_at FROM message WHERE id % 5 = 0`,
  );
  await pool.query(
    `INSERT INTO callback_attempt (kind, partner_id, message_id, status, attempt, attempted_at, url, http_status, duration_ms)
     SELECT 'dlr', partner_id, id, status, 1, done_at + interval '1 s', 'https://partner.example/dlr?transactionId=' || id, 200, 40
     FROM message WHERE id % 5 = 0 AND status IN (2, 5)`,
  );
  await pool.query(
    `INSERT INTO mo_message (partner_id, msisdn, service_number, text, segments, received_at, callback_done_at)
     SELECT $1, '7903' || lpad((g % 200000)::text, 7, '0'), '4565', 'Reply ' || g, 1, now() - make_interval(secs => g * 77.0), now() - make_interval(secs => g * 77.0 - 1)
     FROM generate_series(1, 100000) g`,
    [bench],
  );
  log(`segments, callback attempts and 100,000 MO (${seconds(t0)})`);

  t0 = Date.now();
  const { StatsRollup } = require(path.join(root, 'apps/scheduler/dist/stats/stats-rollup.service'));
  const rollup = new StatsRollup(pool, { SCHEDULER_ROLLUP_BATCH: 200_000, SCHEDULER_REPORT_GRACE_MS: 60_000, SCHEDULER_ROLLUP_INTERVAL_MS: 1000, SCHEDULER_TASKS: [] }, { now: () => new Date() });
  const folded = await rollup.foldAll(new Date());
  log(`statistics rollup: ${folded.changes} changes folded into ${folded.buckets} message_stat rows (${seconds(t0)})`);
  t0 = Date.now();
  await pool.query('VACUUM ANALYZE');
  log(`VACUUM ANALYZE (${seconds(t0)})`);
  await pool.end();
}

async function startPortal(port) {
  const output = [];
  const child = spawn(process.execPath, [PORTAL], {
    env: { ...env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, PORTAL_PORT: String(port), PORTAL_HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'development', CONNECTOR_URLS: 'http://127.0.0.1:1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => output.push(String(d)));
  child.stderr.on('data', (d) => output.push(String(d)));
  for (const until = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 200))) {
    if (child.exitCode !== null) fail(`portal exited: ${output.join('')}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) fail(`portal not healthy within 30 s: ${output.join('')}`);
  }
}

async function login(base, user) {
  const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: user, password: PASSWORD }) });
  if (!res.ok) fail(`login ${user}: HTTP ${res.status}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  return cookie;
}

async function time(base, cookie, url) {
  const t0 = process.hrtime.bigint();
  const res = await fetch(`${base}${url}`, { headers: { cookie } });
  const body = await res.text();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!res.ok) fail(`${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
  return { ms, body };
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function plans() {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  const { rows } = await c.query(`SELECT id FROM partner WHERE login = 'bench'`);
  const p = rows[0].id;
  const shown = [
    ['search by number', `SELECT id FROM message WHERE partner_id = ${p} AND msisdn = '79030012345' ORDER BY created_at DESC, id DESC LIMIT 51`],
    ['search by period', `SELECT id FROM message WHERE partner_id = ${p} AND created_at >= now() - interval '45 days' AND created_at < now() - interval '44 days' ORDER BY created_at DESC, id DESC LIMIT 51`],
    ['dashboard (30 days)', `SELECT hour, sender, test, status, sum(messages) FROM message_stat WHERE partner_id = ${p} AND hour >= now() - interval '30 days' GROUP BY 1, 2, 3, 4`],
  ];
  for (const [name, sql] of shown) {
    const plan = await c.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) ${sql}`);
    log(`\n-- ${name}\n${plan.rows.map((r) => `   ${r['QUERY PLAN']}`).join('\n')}`);
  }
  await c.end();
}

async function main() {
  const problem = await preflight();
  if (problem) fail(problem);
  if (!fs.existsSync(PORTAL)) fail('apps/portal is not built: run npm run build first');
  if (reuse && (await filled())) log(`reusing ${benchDb} with ${total} messages`);
  else await fill();

  const port = await freePort();
  const child = await startPortal(port);
  const base = `http://127.0.0.1:${port}`;
  try {
    const cookie = await login(base, 'bench');
    const day = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
    const first = JSON.parse((await time(base, cookie, '/api/messages?limit=50')).body);
    const someId = first.messages[10].id;
    const withParts = String(Math.floor(Number(someId) / 5) * 5);
    // Message g's id is its hour · 2^30 + g.
    const g = Number(BigInt(someId) % BigInt(store.HOUR_FACTOR));
    const calls = [
      ['dashboard, 7 days', `/api/stats?from=${day(6)}&to=${day(0)}`],
      ['dashboard, 30 days', `/api/stats?from=${day(29)}&to=${day(0)}`],
      ['dashboard, 90 days', `/api/stats?from=${day(89)}&to=${day(0)}`],
      ['messages, first page', '/api/messages?limit=50'],
      ['messages, next page', `/api/messages?limit=50&cursor=${first.next}`],
      ['search by number', '/api/messages?msisdn=79030012345'],
      ['search by period (one day)', `/api/messages?from=${day(45)}&to=${day(45)}`],
      ['search by sender + status', '/api/messages?sender=INFO&status=5'],
      ['search, no match (PROMO, 5)', '/api/messages?sender=PROMO&status=5'],
      ['search by status (8)', '/api/messages?status=8'],
      ['search by partnerMsgId', `/api/messages?partnerMsgId=order-${g - (g % 4)}`],
      ['message timeline', `/api/messages/${withParts}`],
      ['MO list', '/api/mo'],
      ['settings', '/api/account/settings'],
    ];
    for (const [, url] of calls) await time(base, cookie, url); // warm-up: prepared statements, caches
    const results = [];
    for (const [name, url] of calls) {
      const samples = [];
      for (let i = 0; i < rounds; i++) samples.push((await time(base, cookie, url)).ms);
      samples.sort((a, b) => a - b);
      results.push({ name, median: pct(samples, 50), p95: pct(samples, 95), max: samples[samples.length - 1] });
    }
    await plans();
    log(`\nportal API with ${total.toLocaleString('en-US')} messages, ${rounds} rounds each (ms):`);
    log(`${'call'.padEnd(30)} ${'median'.padStart(8)} ${'p95'.padStart(8)} ${'max'.padStart(8)}`);
    for (const r of results) log(`${r.name.padEnd(30)} ${r.median.toFixed(1).padStart(8)} ${r.p95.toFixed(1).padStart(8)} ${r.max.toFixed(1).padStart(8)}${r.p95 > 300 ? '  over 300 ms' : ''}`);
    const worst = Math.max(...results.map((r) => r.p95));
    log(`\nslowest p95: ${worst.toFixed(1)} ms (goal: under 300 ms)`);
    log(JSON.stringify({ bench: 'portal', messages: total, rounds, results: results.map((r) => ({ ...r, median: +r.median.toFixed(1), p95: +r.p95.toFixed(1), max: +r.max.toFixed(1) })) }));
  } finally {
    child.kill('SIGTERM');
  }
}

main().catch((e) => fail(e.stack || e.message));
