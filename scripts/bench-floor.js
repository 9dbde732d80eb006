// `npm run bench:floor`: the least each hop of a message can cost on this machine, with none of the
// platform's own code, to compare `bench:kannel`'s CPU per message with. Four parts, one after the
// other, each process's CPU read from /proc:
//   http accept   a bare node:http server answering `OK <n>` to wrk's GET /send (the same URL shape
//                 and 32 keep-alive connections as bench:kannel), paced at BENCH_RATE requests/s
//                 (wrk's delay()) and at full speed: CPU per request of the server.
//   http push     undici (the callback worker's client) making GET requests to a bare node:http
//                 server, 32 at a time, paced at BENCH_RATE and at full speed: CPU per request of
//                 the client.
//   smpp          the `smpp` package (the connector's) bound as transceiver to the project's SMSC
//                 simulator, window 100: submit_sm, its response, the receipt (deliver_sm) and its
//                 answer, paced at BENCH_RATE and at full speed: CPU per message of the client (and
//                 of the simulator).
//   postgresql    the writes of one message's life with the platform's schema (migrations, triggers
//                 and indexes) on a scratch database: the ingress INSERT, the connector's claim, its
//                 segment record, a receipt's settlement of segment and message, the worker's attempt
//                 record; BENCH_BATCH messages per statement, each statement its own transaction, as
//                 the platform commits them: CPU per message of the backend.
// Then the sum, paced and at full speed (the lower, since more work per wake-up costs less per
// message). A platform made only of these hops, with every line of its own code free, could not
// cost less per message than that sum. The load generators, the sink and the simulator are not in
// it, as bench:kannel's gateway-only figure leaves them out. BENCH_N requests or messages per part (20,000).
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const lib = require('./lib/services');

const root = lib.root;
const env = process.env;
/** Keep-alive connections of the HTTP hops, as bench:kannel's wrk uses. */
const connections = 32;

if (process.argv[2] === '--server') return runServer();
if (process.argv[2] === '--push') return runPush(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
if (process.argv[2] === '--smpp') return runSmpp(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));

function fail(message) {
  console.error(`bench:floor: ${message}`);
  process.exit(2);
}
const int = (name, fallback, min) => lib.intSetting(env, name, fallback, min, fail);
const rate = int('BENCH_RATE', 2000, 1);
const n = int('BENCH_N', 20000, 100);
const batch = int('BENCH_BATCH', 20, 1);
const adminUrl = env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const scratchDb = 'smsgw_bench_floor';

// ---------------------------------------------------------------------------------------------
// Child modes
// ---------------------------------------------------------------------------------------------
/** A bare HTTP server: prints its port, answers every request `OK <n>`. */
function runServer() {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`OK ${count}`);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
}

/** `total` GET requests with undici, `concurrency` at a time, at most `perSecond` a second (0: no limit). */
function runPush(port, total, perSecond) {
  const { Agent, request } = require(require.resolve('undici', { paths: [path.join(root, 'apps/callback-worker')] }));
  const agent = new Agent({ connections, pipelining: 1 });
  const url = `http://127.0.0.1:${port}/dlr`;
  const started = Date.now();
  let sent = 0;
  const loop = async () => {
    while (sent < total) {
      const i = sent++;
      if (perSecond > 0) {
        const wait = started + (i * 1000) / perSecond - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const res = await request(`${url}?id=${i}&status=2&ts=${Date.now()}`, { dispatcher: agent });
      await res.body.text();
    }
  };
  const t0 = process.cpuUsage();
  Promise.all(Array.from({ length: connections }, loop)).then(() => {
    const u = process.cpuUsage(t0);
    process.stdout.write(`${JSON.stringify({ cpuMs: (u.user + u.system) / 1000, seconds: (Date.now() - started) / 1000 })}\n`);
    process.exit(0);
  });
}

/** Binds to the simulator on `port` and sends `total` messages at `perSecond`, window 100; waits for every receipt. */
function runSmpp(port, total, perSecond) {
  const smpp = require(require.resolve('smpp', { paths: [path.join(root, 'apps/smsc-connector')] }));
  const session = smpp.connect({ url: `smpp://127.0.0.1:${port}` });
  const window = 100;
  let sent = 0;
  let inFlight = 0;
  let receipts = 0;
  let timer = null;
  let t0;
  let started;
  const done = () => {
    const u = process.cpuUsage(t0);
    process.stdout.write(`${JSON.stringify({ cpuMs: (u.user + u.system) / 1000, seconds: (Date.now() - started) / 1000 })}\n`);
    session.close();
    process.exit(0);
  };
  const pump = () => {
    while (sent < total && inFlight < window) {
      const wait = perSecond > 0 ? started + (sent * 1000) / perSecond - Date.now() : 0;
      if (wait > 0) {
        if (!timer) timer = setTimeout(() => ((timer = null), pump()), wait);
        return;
      }
      sent++;
      inFlight++;
      session.submit_sm(
        { source_addr: 'Bench', source_addr_ton: 5, destination_addr: `7916${String(sent).padStart(6, '0')}1`, dest_addr_ton: 1, dest_addr_npi: 1, registered_delivery: 1, short_message: 'Hello from bench:floor' },
        (pdu) => {
          inFlight--;
          if (pdu.command_status !== 0) fail(`submit_sm refused with status ${pdu.command_status}`);
          pump();
        },
      );
    }
  };
  session.on('deliver_sm', (pdu) => {
    session.send(pdu.response());
    if (++receipts === total) done();
  });
  session.on('error', (e) => fail(`SMPP: ${e.message}`));
  session.bind_transceiver({ system_id: 'floor', password: 'floor' }, (pdu) => {
    if (pdu.command_status !== 0) fail(`bind refused with status ${pdu.command_status}`);
    t0 = process.cpuUsage();
    started = Date.now();
    pump();
  });
}

// ---------------------------------------------------------------------------------------------
// Parts
// ---------------------------------------------------------------------------------------------
const children = [];

function start(args, extraEnv = {}) {
  const child = spawn(process.execPath, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

function firstLine(child) {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.once('exit', (code) => reject(new Error(`${child.spawnargs.slice(1).join(' ')} exited with ${code}`)));
  });
}

async function httpAccept() {
  const server = start([__filename, '--server']);
  const port = Number(await firstLine(server));
  const url = `http://127.0.0.1:${port}/send?user=bench&pass=bench&to=%2B79161234567&text=Hello&dlr-url=x`;
  const out = {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgw-floor-'));
  const script = path.join(dir, 'pace.lua');
  // Each of the 32 connections waits this long before each request: about `rate` requests a second in all.
  fs.writeFileSync(script, `function delay() return ${Math.max(1, Math.round((connections * 1000) / rate))} end\n`);
  for (const [label, args] of [[`${rate}/s`, ['-s', script]], ['full speed', []]]) {
    const before = lib.cpuMs(server.pid);
    const r = spawnSync('wrk', ['-t2', `-c${connections}`, `-d${Math.max(3, Math.round(n / rate))}s`, ...args, url], { encoding: 'utf8' });
    if (r.status !== 0) fail(`wrk failed: ${r.stderr || r.error}`);
    const requests = Number(/(\d+) requests in/.exec(r.stdout)[1]);
    out[label] = { perSecond: Math.round(requests / Math.max(3, Math.round(n / rate))), cpuMs: (lib.cpuMs(server.pid) - before) / requests };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  server.kill();
  return out;
}

async function httpPush() {
  const server = start([__filename, '--server']);
  const port = Number(await firstLine(server));
  const out = {};
  for (const [label, perSecond] of [[`${rate}/s`, rate], ['full speed', 0]]) {
    const client = start([__filename, '--push', String(port), String(n), String(perSecond)]);
    const r = JSON.parse(await firstLine(client));
    out[label] = { perSecond: Math.round(n / r.seconds), cpuMs: r.cpuMs / n };
  }
  server.kill();
  return out;
}

async function smppHop() {
  const smppPort = await lib.freePort();
  const httpPort = await lib.freePort();
  const sim = start([path.join(root, 'apps/smsc-simulator/dist/main.js')], {
    SIM_SMPP_HOST: '127.0.0.1', SIM_SMPP_PORT: String(smppPort), SIM_HTTP_HOST: '127.0.0.1', SIM_HTTP_PORT: String(httpPort),
    SIM_ACCOUNTS: 'floor:floor', SIM_TPS: '0', SIM_WINDOW: '100', SIM_DLR_DELAY_MS: '200', SIM_DELIVER_WINDOW: '100',
    SIM_OUTCOMES: 'DELIVRD=1', SIM_RECORD_LIMIT: '1000', LOG_LEVEL: 'warn',
  });
  await lib.waitForHealth('the simulator', httpPort, 30000);
  const out = {};
  for (const [label, perSecond] of [[`${rate}/s`, rate], ['full speed', 0]]) {
    const simBefore = lib.cpuMs(sim.pid);
    const client = start([__filename, '--smpp', String(smppPort), String(n), String(perSecond)]);
    const r = JSON.parse(await firstLine(client));
    out[label] = { perSecond: Math.round(n / r.seconds), cpuMs: r.cpuMs / n, simulatorCpuMs: (lib.cpuMs(sim.pid) - simBefore) / n };
  }
  sim.kill();
  return out;
}

/** The statements of one message's life, batch by batch (ids 1.. in order). */
function statements() {
  const span = (ids, f) => ids.map(f);
  return [
    ['ingress INSERT', `INSERT INTO message (id, partner_id, partner_msg_id, ptag, sender, msisdn, text, encoding, segments, flash, priority, test, release_at, window_start, window_end, window_zone, valid_until)
      SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::smallint[], $9::smallint[], $10::bool[], $11::smallint[], $12::bool[], $13::timestamptz[], $14::smallint[], $15::smallint[], $16::text[], $17::timestamptz[])
      ON CONFLICT (partner_id, partner_msg_id) DO NOTHING RETURNING id::text`,
      (ids) => [ids, span(ids, () => 1), span(ids, (i) => `p${i}`), span(ids, () => null), span(ids, () => 'Bench'), span(ids, (i) => `7916${String(i).padStart(7, '0')}`),
        span(ids, () => 'Hello from bench:floor'), span(ids, () => 0), span(ids, () => 1), span(ids, () => false), span(ids, () => 1), span(ids, () => false),
        span(ids, () => null), span(ids, () => null), span(ids, () => null), span(ids, () => null), span(ids, () => new Date(Date.now() + 86_400_000))]],
    ['connector claim', `UPDATE message m SET status = 0, smsc_connection_id = v.conn, submitted_at = now(), updated_at = now()
      FROM unnest($1::bigint[], $2::int[]) AS v(id, conn) WHERE m.id = v.id AND m.status = 1 RETURNING m.id::text`,
      (ids) => [ids, span(ids, () => 1)]],
    ['segment record', `INSERT INTO message_part (message_id, seq, smsc_connection_id, smsc_message_id, submitted_at)
      SELECT v.message_id, v.seq, v.conn, v.smsc_id, now() FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[]) AS v(message_id, seq, conn, smsc_id)
      ON CONFLICT (message_id, seq) DO NOTHING`,
      (ids) => [ids, span(ids, () => 1), span(ids, () => 1), span(ids, (i) => i.toString(16))]],
    ['receipt settlement', `WITH part AS (
        UPDATE message_part mp SET status = 2, done_at = now() WHERE mp.smsc_message_id = ANY($1::text[]) AND mp.smsc_connection_id = 1 AND mp.status = 0
        RETURNING mp.message_id)
      UPDATE message m SET status = 2, done_at = now(), updated_at = now() FROM part p WHERE m.id = p.message_id AND m.status = 0`,
      (ids) => [span(ids, (i) => i.toString(16))]],
    ['attempt record', `INSERT INTO callback_attempt (kind, partner_id, message_id, status, attempt, attempted_at, url, http_status, duration_ms)
      SELECT 'dlr', 1, v.id, 2, 1, now(), 'http://127.0.0.1/dlr', 200, 3 FROM unnest($1::bigint[]) AS v(id)`,
      (ids) => [ids]],
  ];
}

async function postgres() {
  const { Client } = require(require.resolve('pg', { paths: [path.join(root, 'packages/db')] }));
  const url = await lib.freshDatabase(adminUrl, scratchDb);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: [{ pid }] } = await client.query('SELECT pg_backend_pid() AS pid');
    await client.query(`INSERT INTO partner (id, login, api_password_hash, name) VALUES (1, 'bench-floor', 'x', 'bench:floor')`);
    const list = statements();
    const spent = new Map(list.map(([label]) => [label, 0]));
    let next = 1;
    // Two rounds: the first warms the backend and its plans; the second is measured.
    for (let round = 0; round < 2; round++) {
      for (const label of spent.keys()) spent.set(label, 0);
      for (let done = 0; done < n; done += batch) {
        const ids = Array.from({ length: batch }, () => next++);
        for (const [label, text, values] of list) {
          const before = lib.cpuMs(pid);
          await client.query({ name: label, text, values: values(ids) });
          spent.set(label, spent.get(label) + lib.cpuMs(pid) - before);
        }
      }
    }
    return Object.fromEntries([...spent].map(([label, ms]) => [label, ms / n]));
  } finally {
    await client.end();
    const { adminQuery } = require(path.join(root, 'packages/db/dist/testing'));
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${scratchDb}" WITH (FORCE)`);
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
async function main() {
  if (spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error) fail('wrk is missing: apt-get install wrk');
  if (!fs.existsSync(path.join(root, 'apps/smsc-simulator/dist/main.js'))) fail('the simulator is not built: npm run build');
  console.log(`bench:floor: ${n} per part, ${rate}/s paced, batches of ${batch}; ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const fmt = (ms) => ms.toFixed(3);
  const accept = await httpAccept();
  for (const [k, v] of Object.entries(accept)) console.log(`  http accept  ${k.padEnd(11)} ${String(v.perSecond).padStart(6)}/s  server ${fmt(v.cpuMs)} ms/request`);
  const push = await httpPush();
  for (const [k, v] of Object.entries(push)) console.log(`  http push    ${k.padEnd(11)} ${String(v.perSecond).padStart(6)}/s  client ${fmt(v.cpuMs)} ms/request`);
  const smpp = await smppHop();
  for (const [k, v] of Object.entries(smpp)) console.log(`  smpp         ${k.padEnd(11)} ${String(v.perSecond).padStart(6)}/s  client ${fmt(v.cpuMs)} ms/message (simulator ${fmt(v.simulatorCpuMs)})`);
  const pg = await postgres();
  for (const [k, v] of Object.entries(pg)) console.log(`  postgresql   ${k.padEnd(20)} backend ${fmt(v)} ms/message`);
  const pgTotal = Object.values(pg).reduce((a, b) => a + b, 0);
  const paced = `${rate}/s`;
  const hops = (label) => accept[label].cpuMs + push[label].cpuMs + smpp[label].cpuMs;
  const sum = hops(paced) + pgTotal;
  const fast = hops('full speed') + pgTotal;
  console.log(`  postgresql   all writes           backend ${fmt(pgTotal)} ms/message`);
  console.log(`floor per message (accept + push + smpp + postgresql): ${fmt(sum)} ms at ${paced}, ${fmt(fast)} ms with the hops at full speed`);
  console.log(JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, rate, n, batch, accept, push, smpp, postgres: pg, floorMs: { paced: sum, fullSpeed: fast } }));
}

main()
  .catch((e) => {
    console.error(`bench:floor: ${e.stack || e}`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) if (c.exitCode === null) c.kill();
  });
