// `npm run bench:store`: whether the message store's lookups stay index lookups as it grows. Fills
// a bench database (smsgw_bench_store, migrated as production is) with messages and their segments
// by INSERT … SELECT generate_series, up to each size of BENCH_STORE_SIZES in turn (default
// 1,000,000 then 100,000,000; the larger size adds to the smaller), and at each size times, on
// one connection, BENCH_SAMPLES (2,000) random lookups of each kind the platform makes, with the
// very statements the services run:
//   status by id            /status?transactionId=  (ingress-api, STATUS_BY_IDS_SQL)
//   status by partnerMsgId  /status?partnerMsgId=   (ingress-api: MESSAGE_BY_PARTNER_MSG_ID_SQL, then by id)
//   receipt match           a receipt for a segment (smsc-connector, SETTLE_SINGLE_SEGMENTS_SQL;
//                           the messages are final already, so it looks up and changes nothing):
//                           of the last day with the connector's bound on arrival (3 days), of any
//                           day without bound (the worst case: a receipt found by the parked pass)
//   portal: newest page, by number, one hour   the portal's message search (MessagesService)
// then prints p50 and p99 of each per size, and the plan of each. The store: 180 days of traffic
// at an even rate (at 100 M rows, about 6.4 messages per second), 100 partners of which one has
// half the traffic (its lookups are the ones timed, the worst case for the indexes that lead with
// the partner), 4,000,000 numbers, a partnerMsgId on one message in four, one segment each with an
// SMSC id. Secondary indexes are dropped for a large fill and built again after, as a restore
// would. Settings are per session only (maintenance_work_mem, synchronous_commit); ANALYZE after
// each fill stands in for autovacuum, off on these machines. The database is dropped at the end
// unless BENCH_KEEP=1; BENCH_REUSE=1 starts from a kept one. Disk: about 50 GB while filling 100 M rows, 45 GB once built.
// Needs `npm run build` first.
const crypto = require('node:crypto');
const path = require('node:path');
const { Client, Pool } = require('pg');
const lib = require('./lib/services');
const store = require('./lib/message-store');

const root = lib.root;
const env = process.env;

function fail(message) {
  console.error(`bench:store: ${message}`);
  process.exit(2);
}
const int = (name, fallback, min) => lib.intSetting(env, name, fallback, min, fail);
const sizes = (env.BENCH_STORE_SIZES || '1000000,100000000').split(',').map((s) => {
  if (!/^\d+$/.test(s.trim()) || Number(s) < 10_000) fail(`BENCH_STORE_SIZES="${env.BENCH_STORE_SIZES}" must list sizes of at least 10000, comma-separated`);
  return Number(s);
});
if (sizes.some((s, i) => i > 0 && s <= sizes[i - 1])) fail('BENCH_STORE_SIZES must grow');
const samples = int('BENCH_SAMPLES', 2000, 10);
const adminUrl = env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const benchDb = 'smsgw_bench_store';
const databaseUrl = lib.withDatabase(adminUrl, benchDb);
const largest = sizes[sizes.length - 1];
const DAYS = 180;
const PARTNERS = 100;
const NUMBERS = 4_000_000;
const CHUNK = 1_000_000;
/** A fill at least this large drops the secondary indexes first and builds them after. */
const REBUILD_FROM = 5_000_000;

const { MESSAGE_BY_PARTNER_MSG_ID_SQL, STATUS_BY_IDS_SQL } = require(path.join(root, 'apps/ingress-api/dist/status/status.service'));
const { RECEIPT_RECENT_MS, SETTLE_SINGLE_SEGMENTS_SQL } = require(path.join(root, 'apps/smsc-connector/dist/receipts/receipt.service'));
const { MessagesService } = require(path.join(root, 'apps/portal/dist/messages/messages.service'));
const { MessageStatus } = require(path.join(root, 'packages/contracts/dist'));

const log = (s) => process.stdout.write(`${s}\n`);
const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

// Message g (0-based): accepted DAYS · g / largest days after the period's start, so every size
// is the oldest part of the largest store; its id carries that hour as the platform's ids do
// (MessageIdAllocator): hour · 2^30 + g (g < 2^30: unique, and growing with g). The heavy partner (the
// first) has the even g, the other 99 share the odd ones; number, partnerMsgId and SMSC id follow
// from g.
const STEP_S = (DAYS * 86_400) / largest;
if (largest >= store.HOUR_FACTOR) fail(`BENCH_STORE_SIZES: at most ${store.HOUR_FACTOR - 1} messages`);
const tsOf = (g) => periodStart().getTime() + g * STEP_S * 1000;
const idOf = (g) => store.messageId(tsOf(g), g);
const msisdnOf = (g) => `7903${String(g % NUMBERS).padStart(7, '0')}`;
const partnerOf = (g, heavy) => (g % 2 === 0 ? heavy : heavy + 1 + (g % (PARTNERS - 1)));

async function main() {
  const started = Date.now();
  log(`bench:store: sizes ${sizes.map((s) => s.toLocaleString('en')).join(', ')}; ${samples} samples per lookup; ${DAYS} days, ${PARTNERS} partners`);
  let pool;
  let have = 0;
  if (env.BENCH_REUSE === '1') {
    pool = new Pool({ connectionString: databaseUrl, max: 2 });
    try {
      // A kept store takes the migrations added since it was filled.
      await require(path.join(root, 'packages/db/dist/testing')).runMigrate(databaseUrl);
      have = Number((await pool.query('SELECT count(*) AS n FROM message')).rows[0].n);
      log(`reusing ${benchDb}: ${have.toLocaleString('en')} messages`);
    } catch (e) {
      await pool.end();
      pool = null;
      log(`BENCH_REUSE=1 but ${benchDb} cannot be read (${e.message}): creating it`);
    }
  }
  if (!pool) {
    await lib.freshDatabase(adminUrl, benchDb);
    pool = new Pool({ connectionString: databaseUrl, max: 2 });
    await pool.query(
      `INSERT INTO partner (login, name, api_password_hash, senders, default_sender)
       SELECT 'bench' || p, 'Bench partner ' || p, 'x', '{BENCH,INFO}', 'BENCH' FROM generate_series(1, $1) p`,
      [PARTNERS],
    );
    await pool.query(`INSERT INTO smsc_connection (name, host, system_id, password) VALUES ('bench', '127.0.0.1', 'bench', 'bench')`);
    await store.weeklyPartitions(pool, periodStart().getTime());
  }
  const heavy = Number((await pool.query(`SELECT min(id) AS id FROM partner`)).rows[0].id);
  // A kept store's period started when it was filled.
  const first = (await pool.query(`SELECT created_at FROM message WHERE id = (SELECT min(id) FROM message)`)).rows[0];
  if (first) start0 = first.created_at;
  const conn = Number((await pool.query(`SELECT min(id) AS id FROM smsc_connection`)).rows[0].id);
  const results = [];
  try {
    for (const size of sizes) {
      if (have > size) fail(`the kept store has ${have} messages, more than the size ${size}: drop it (run without BENCH_REUSE)`);
      if (have < size) await fill(pool, have, size, heavy, conn);
      have = size;
      results.push({ size, lookups: await measure(pool, size, heavy, conn) });
    }
  } finally {
    await pool.end();
  }
  print(results);
  if (env.BENCH_KEEP !== '1') {
    const { adminQuery } = require(path.join(root, 'packages/db/dist/testing'));
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${benchDb}" WITH (FORCE)`);
  }
  log(`total ${secs(started)}${env.BENCH_KEEP === '1' ? `; ${benchDb} kept` : ''}`);
  log(JSON.stringify({ date: new Date().toISOString(), samples, results }));
}

/** Adds messages from..to-1 and their segments. */
async function fill(pool, from, to, heavy, conn) {
  const t0 = Date.now();
  const c = await pool.connect();
  try {
    await c.query(`SET synchronous_commit = off; SET maintenance_work_mem = '1GB'`);
    const rebuild = to - from >= REBUILD_FROM;
    const indexes = rebuild ? await dropSecondaryIndexes(c) : [];
    for (let start = from; start < to; start += CHUNK) {
      const n = Math.min(CHUNK, to - start);
      await c.query(
        `INSERT INTO message (id, partner_id, partner_msg_id, sender, msisdn, text, encoding, segments, status, ext_status,
                              valid_until, created_at, updated_at, submitted_at, done_at, smsc_connection_id)
         SELECT ${store.messageIdSql('ts', 'g')},
                CASE WHEN g % 2 = 0 THEN $2::int ELSE $2::int + 1 + (g % ($3::int - 1))::int END,
                CASE WHEN g % 4 = 0 THEN 'order-' || g END,
                CASE WHEN g % 3 = 0 THEN 'INFO' ELSE 'BENCH' END,
                '7903' || lpad((g % $4::bigint)::text, 7, '0'),
                'Your code is ' || (g % 10000) || '. Do not share it with anyone.',
                0, 1,
                (ARRAY[2,2,2,2,2,2,2,5,2,2,2,2,2,2,5,8])[1 + g % 16],
                CASE WHEN g % 16 IN (7, 14) THEN 1 + g % 8 END,
                ts + interval '1 day', ts, ts + interval '5 s', ts + interval '1 s', ts + interval '4 s', $5::int
         FROM (SELECT g, $6::timestamptz + make_interval(secs => g * $7::double precision) AS ts
               FROM generate_series($1::bigint, $1::bigint + $8 - 1) g) s`,
        [start, heavy, PARTNERS, NUMBERS, conn, periodStart(), STEP_S, n],
      );
      await c.query(
        `INSERT INTO message_part (message_id, seq, smsc_connection_id, smsc_message_id, status, ext_status, submitted_at, done_at)
         SELECT id, 1, smsc_connection_id, substr(md5(id::text), 1, 16), status, ext_status, submitted_at, done_at
         FROM message WHERE id BETWEEN $1::bigint AND $2::bigint`,
        [idOf(start), idOf(start + n - 1)],
      );
      // The partner's ids as the intake claims them (/status?partnerMsgId= finds a message through them).
      await c.query(
        `INSERT INTO message_key (partner_id, partner_msg_id, message_id)
         SELECT partner_id, partner_msg_id, id FROM message WHERE id BETWEEN $1::bigint AND $2::bigint AND partner_msg_id IS NOT NULL`,
        [idOf(start), idOf(start + n - 1)],
      );
      process.stdout.write(`\rfill: ${(start + n).toLocaleString('en')} of ${to.toLocaleString('en')} messages and segments (${secs(t0)})   `);
    }
    log('');
    if (rebuild) {
      const t1 = Date.now();
      for (const def of indexes) await c.query(def);
      log(`indexes built again: ${indexes.length} (${secs(t1)})`);
    }
    const t2 = Date.now();
    await c.query('ANALYZE message; ANALYZE message_part');
    log(`ANALYZE (${secs(t2)}); store: ${(await c.query(`SELECT pg_size_pretty(pg_database_size(current_database())) AS s`)).rows[0].s}`);
  } finally {
    c.release();
  }
}

/** The period's start: the largest store's last message is accepted about now. */
let start0 = null;
function periodStart() {
  start0 ??= new Date(Date.now() - DAYS * 86_400_000);
  return start0;
}

/** Drops the indexes of message and message_part that no constraint owns; returns how to build them again. */
async function dropSecondaryIndexes(c) {
  const { rows } = await c.query(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
     FROM pg_index i
     WHERE i.indrelid IN ('message'::regclass, 'message_part'::regclass)
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`,
  );
  for (const r of rows) await c.query(`DROP INDEX ${r.name}`);
  // A partitioned table's index reads back as ON ONLY the parent: built again on every partition.
  return rows.map((r) => r.def.replace(' ON ONLY ', ' ON '));
}

/** Times every lookup on `size` messages; returns p50 and p99 per lookup, and its plan. */
async function measure(pool, size, heavy, conn) {
  const c = await pool.connect();
  // The portal's service on the same pool, its last statement kept (for the plan).
  let last = null;
  const portal = new MessagesService({
    query: (text, values) => {
      last = { text, values };
      return pool.query(text, values);
    },
  });
  // Random messages of the heavy partner (even g), from the whole store, or from its last day
  // (the newest rows a day at the bench's rate adds): what partners poll and SMSCs report on most.
  const dayRows = Math.min(size, Math.round(largest / DAYS));
  const pick = (even = true, multipleOf = 2, lastDay = false) => {
    const from = lastDay ? size - dayRows : 0;
    const g = from + Math.floor((Math.random() * (size - from)) / multipleOf) * multipleOf;
    return even ? g : g + 1;
  };
  const hourAt = (g) => new Date(periodStart().getTime() + g * STEP_S * 1000);
  const lookups = [
    ...[false, true].map((lastDay) => ({
      name: `status by id${lastDay ? ', last day' : ''}`,
      run: () => {
        const g = pick(true, 2, lastDay);
        return { text: STATUS_BY_IDS_SQL, values: [partnerOf(g, heavy), [idOf(g)]], expect: 1 };
      },
    })),
    {
      name: 'status by partnerMsgId',
      run: () => {
        const g = pick(true, 4);
        // Its key, then the message by id: the service's two statements.
        return { text: MESSAGE_BY_PARTNER_MSG_ID_SQL, values: [partnerOf(g, heavy), `order-${g}`], expect: 1, then: (id) => ({ text: STATUS_BY_IDS_SQL, values: [partnerOf(g, heavy), [id]] }) };
      },
    },
    ...[false, true].map((lastDay) => ({
      name: `receipt match${lastDay ? ', last day' : ''}`,
      run: () => {
        const g = pick(Math.random() < 0.5, 2, lastDay);
        const smscId = crypto.createHash('md5').update(idOf(g)).digest('hex').slice(0, 16);
        // The lowest message id looked at: of the last day, the connector's bound on arrival
        // (RECEIPT_RECENT_MS before the store's newest message); of any day, none (the parked pass).
        const [from, to] = lastDay ? [store.idFloor(tsOf(size - 1) - RECEIPT_RECENT_MS), store.idFloor(tsOf(size - 1) + 86_400_000)] : ['-9223372036854775808', '9223372036854775807'];
        return { text: SETTLE_SINGLE_SEGMENTS_SQL, values: [[0], [conn], [smscId], [0], [MessageStatus.DELIVERED], [null], [new Date()], MessageStatus.SUBMITTED, from, to], expect: 1 };
      },
    })),
    { name: 'portal: newest page', search: () => ({ partnerId: heavy }), expect: 50 },
    {
      name: 'portal: by number',
      search: () => ({ partnerId: heavy, msisdn: msisdnOf(pick()) }),
      expect: 1,
    },
    {
      name: 'portal: one hour',
      search: () => {
        const from = hourAt(pick());
        return { partnerId: heavy, from, to: new Date(from.getTime() + 3_600_000) };
      },
      expect: 1,
    },
  ];
  const out = [];
  try {
    for (const l of lookups) {
      const times = [];
      // A tenth more, untimed first: the connection's plans and the hottest pages.
      for (let i = 0; i < samples + Math.ceil(samples / 10); i++) {
        const t0 = process.hrtime.bigint();
        let found;
        if (l.run) {
          const q = l.run();
          const r = await c.query({ text: q.text, values: q.values });
          found = q.then && r.rowCount > 0 ? (await c.query(q.then(r.rows[0].id))).rowCount : r.rowCount;
        } else {
          found = (await portal.search(l.search(), 50)).messages.length;
        }
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (found < l.expect) fail(`${l.name} at ${size} messages found ${found} rows, expected at least ${l.expect}`);
        if (i >= Math.ceil(samples / 10)) times.push(ms);
      }
      times.sort((a, b) => a - b);
      const p = (q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
      let q = l.run?.();
      if (!q) {
        await portal.search(l.search(), 50);
        q = last;
      }
      let scans = await plan(c, q);
      if (q.then) scans += `; then ${await plan(c, q.then((await c.query({ text: q.text, values: q.values })).rows[0].id))}`;
      out.push({ name: l.name, p50: round(p(0.5)), p99: round(p(0.99)), plan: scans });
    }
  } finally {
    c.release();
  }
  return out;
}

/** The scan nodes of a statement's plan. */
async function plan(c, q) {
  const { rows } = await c.query({ text: `EXPLAIN (COSTS OFF) ${q.text}`, values: q.values });
  const scans = rows.map((r) => r['QUERY PLAN'].trim().replace(/^->\s*/, '')).filter((s) => /Scan/.test(s));
  // One entry per kind of scan, a partition's name as its table's with _*, and how many partitions.
  const counts = new Map();
  for (const scan of scans) {
    const key = scan
      .replace(/ using (\S+) on (\S+).*/, ' using $1')
      .replace(/ on (\S+).*/, ' on $1')
      .replace(/\b(message(?:_part)?)_(?:p\d{8}|before)/g, '$1_*');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join('; ');
}

const round = (ms) => Math.round(ms * 1000) / 1000;

function print(results) {
  log('');
  log(`${'lookup'.padEnd(24)}${results.map((r) => `${r.size.toLocaleString('en').padStart(14)} rows: p50 / p99 ms`).join('')}`);
  for (let i = 0; i < results[0].lookups.length; i++) {
    const name = results[0].lookups[i].name;
    log(`${name.padEnd(24)}${results.map((r) => `${`${r.lookups[i].p50.toFixed(3)} / ${r.lookups[i].p99.toFixed(3)}`.padStart(34)}`).join('')}`);
  }
  log('');
  for (const r of results) for (const l of r.lookups) log(`plan at ${r.size.toLocaleString('en')}: ${l.name}: ${l.plan}`);
}

main().catch((e) => fail(e.stack || e.message));
