// `npm run bench:smpp`: a partner over SMPP against the same partner over HTTP, on the same stack in
// one run. The platform runs as `npm start` runs it (scripts/start.js: every service, the SMPP
// server included) on a bench database, Redis prefix and ports, bound to the SMSC simulator
// (receipts after BENCH_DLR_DELAY_MS, window 100, no TPS limit). Two phases, each with a partner
// of its own whose status URL is a local sink counting reports by transactionId:
//   http  wrk, BENCH_CONNECTIONS (32) keep-alive connections for BENCH_SECONDS (20): GET /send, a
//         different number each time;
//   smpp  an SMPP client (BENCH_SMPP_CLIENT: `raw` on the platform's codec, or `npm`, the `smpp`
//         package) bound as transceiver in a process of its own, BENCH_WINDOW (50) submit_sm
//         unanswered at most, for BENCH_SECONDS;
//         its status URL is `smpp:`, so its receipts come back over that bind as deliver_sm.
// Each phase: accepted/s, answer latency p50/p90/p99 (for SMPP, submit_sm to submit_sm_resp),
// submits/s at the SMSC, reports/s at the sink (SMPP: receipts/s at the client), the time from
// the load's end to the last report, whether every accepted message got exactly one report (SMPP:
// by the ids the responses carried and the receipts' receipted_message_id), and CPU ms per
// message per process. Then SMPP / HTTP.
//
// BENCH_TRACE_RATIO (a share, 0 to 1) turns tracing on in every service (docs/operator-guide.md,
// Tracing): parent-based ratio sampling at that share, spans exported over OTLP/HTTP (the SDK's
// default protobuf) to a receiver in this process that answers 200 and counts requests and bytes.
// Unset: tracing off, as `npm start` runs by default.
//
// A third phase, `kannel`, runs only when BENCH_OPENSMPPBOX names an opensmppbox binary (Kannel's
// SMPP server for clients; built from source, see docs/operator-guide.md): Kannel's bearerbox
// (/usr/sbin/bearerbox, Debian package kannel) bound to the same simulator as an SMPP SMSC (an
// account of its own, `kannel`), opensmppbox in front of it, and the same client, window and time
// against opensmppbox. Its receipts come back over the client's bind (registered_delivery 1),
// matched by the ids the client saw: opensmppbox's own, in submit_sm_resp and in
// receipted_message_id. CPU: bearerbox + opensmppbox from /proc. Kannel's configuration goes to
// a temp directory, removed at the end. Then platform SMPP / Kannel opensmppbox. Note: opensmppbox's
// reader sleeps 1 s whenever no whole PDU is waiting on the client's socket, so a windowed client
// gets about one window per second out of it: that, not bearerbox, is what its figure measures.
const { fork, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const lib = require('./lib/services');
const { launchPlatform, spawnStartJs } = require('./lib/platform');

const root = lib.root;
const env = process.env;

function fail(message) {
  console.error(`bench:smpp: ${message}`);
  process.exit(2);
}
const int = (name, fallback, min) => lib.intSetting(env, name, fallback, min, fail);
const seconds = int('BENCH_SECONDS', 20, 1);
const connections = int('BENCH_CONNECTIONS', 32, 1);
const window = int('BENCH_WINDOW', 50, 1);
const dlrDelayMs = int('BENCH_DLR_DELAY_MS', 200, 0);
const portBase = int('BENCH_PORT_BASE', 19300, 1024);
const drainTimeoutS = int('BENCH_DRAIN_TIMEOUT_S', 120, 1);
const adminUrl = env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
const benchDb = 'smsgw_bench_smpp';
const prefix = 'smsgwbenchsmpp';
const PORTS = lib.platformPorts(portBase);
const TEXT = 'Your code is 4711. Do not share it with anyone.';
const PASSWORD = 'bench-pw';
/** The kannel phase: an opensmppbox binary (unset: the phase is skipped), Kannel's bearerbox, their ports. */
const OPENSMPPBOX = env.BENCH_OPENSMPPBOX || '';
const TRACE_RATIO = env.BENCH_TRACE_RATIO ?? '';
if (TRACE_RATIO !== '' && !(Number(TRACE_RATIO) >= 0 && Number(TRACE_RATIO) <= 1)) fail(`BENCH_TRACE_RATIO="${TRACE_RATIO}" must be a share from 0 to 1`);
const BEARERBOX = '/usr/sbin/bearerbox';
const KANNEL_PORTS = { admin: portBase + 10, box: portBase + 11, opensmppbox: portBase + 12 };

if (process.argv[2] === '--client') return runClient();
if (process.argv[2] === '--sink') return runSink();

// ---------------------------------------------------------------------------------------------
// Child: the SMPP client
// ---------------------------------------------------------------------------------------------
/**
 * Binds as transceiver and submits for `seconds` with at most `win` unanswered, acknowledging the
 * receipts that come meanwhile; then waits for the receipt of every accepted message (or nothing
 * new for `drainS`). Writes its figures as JSON. The transport is BENCH_SMPP_CLIENT: `raw` (the
 * default: a lean client on the platform's PDU codec, so that the load generator takes little of
 * the machine, as wrk does for HTTP) or `npm` (the `smpp` package, an independent client; it costs
 * several times more CPU per message, on the same cores as the platform).
 */
function runClient() {
  const [port, login, password, secs, win, drainS, outFile] = process.argv.slice(3);
  const until = { at: 0 };
  const latencies = [];
  const ids = [];
  const refused = {};
  /** receipted_message_id -> receipts of it */
  const receipts = new Map();
  let sent = 0;
  let inFlight = 0;
  let first = 0;
  let last = 0;
  let lastReceipt = 0;
  let loadEnd = 0;
  const transport = (env.BENCH_SMPP_CLIENT || 'raw') === 'npm' ? npmTransport() : rawTransport();
  const finish = () => {
    // A file, not stdout: a pipe's pending output is lost at process.exit.
    const { user, system } = process.cpuUsage();
    fs.writeFileSync(outFile, JSON.stringify({ sent, accepted: ids.length, refused, ids, latencies, first, last, loadEnd, lastReceipt, receipts: [...receipts], cpuMs: (user + system) / 1000 }));
    transport.close();
    process.exit(0);
  };
  const drain = () => {
    loadEnd = Date.now();
    const check = setInterval(() => {
      const waiting = ids.some((id) => !receipts.has(id));
      if (!waiting || Date.now() - Math.max(lastReceipt, loadEnd) > Number(drainS) * 1000) {
        clearInterval(check);
        finish();
      }
    }, 100);
  };
  const receipt = (id) => {
    receipts.set(id, (receipts.get(id) || 0) + 1);
    lastReceipt = Date.now();
  };
  const pump = () => {
    while (inFlight < Number(win) && Date.now() < until.at) {
      sent++;
      inFlight++;
      const at = process.hrtime.bigint();
      transport.submit(`7903${String(sent).padStart(6, '0')}1`, (status, messageId) => {
        inFlight--;
        latencies.push(Number(process.hrtime.bigint() - at) / 1e6);
        last = Date.now();
        if (status === 0) ids.push(messageId);
        else refused[status] = (refused[status] || 0) + 1;
        if (Date.now() < until.at) pump();
        else if (inFlight === 0) drain();
      });
    }
    transport.flush();
  };
  const bound = (status) => {
    if (status !== 0) fail(`bind refused with status 0x${status.toString(16)}`);
    first = Date.now();
    until.at = first + Number(secs) * 1000;
    pump();
  };

  function npmTransport() {
    const smpp = require(require.resolve('smpp', { paths: [path.join(root, 'apps/smpp-server')] }));
    const session = smpp.connect({ url: `smpp://127.0.0.1:${port}` });
    session.on('error', (e) => fail(`SMPP client: ${e.message}`));
    session.on('deliver_sm', (pdu) => {
      session.send(pdu.response());
      const id = String(pdu.receipted_message_id ?? '').replace(/\0+$/, '');
      if ((pdu.esm_class & 0x04) !== 0 && id !== '') receipt(id);
    });
    session.bind_transceiver({ system_id: login, password, interface_version: 0x34 }, (pdu) => bound(pdu.command_status));
    return {
      submit: (destination, done) =>
        session.submit_sm(
          { source_addr: 'BENCH', source_addr_ton: 5, destination_addr: destination, dest_addr_ton: 1, dest_addr_npi: 1, registered_delivery: 1, short_message: TEXT },
          (pdu) => done(pdu.command_status, pdu.message_id),
        ),
      flush: () => {},
      close: () => session.close(),
    };
  }

  function rawTransport() {
    const { decodePdu, encodePdu, PduFramer, Tag } = require(path.join(root, 'packages/sms/dist'));
    const socket = require('node:net').connect(Number(port), '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('error', (e) => fail(`SMPP client: ${e.message}`));
    const framer = new PduFramer();
    const waiting = new Map();
    const text = Buffer.from(TEXT);
    let sequence = 1;
    let out = [];
    const write = (pdu) => out.push(encodePdu(pdu));
    const flush = () => {
      if (out.length === 0) return;
      socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
      out = [];
    };
    socket.on('data', (chunk) => {
      for (const frame of framer.push(chunk)) {
        const pdu = decodePdu(frame);
        if (pdu.command === 'bind_transceiver_resp') bound(pdu.status);
        else if (pdu.command === 'submit_sm_resp') {
          const done = waiting.get(pdu.sequence);
          waiting.delete(pdu.sequence);
          done?.(pdu.status, pdu.params.message_id);
        } else if (pdu.command === 'deliver_sm') {
          write({ command: 'deliver_sm_resp', sequence: pdu.sequence, params: { message_id: '' } });
          const tlv = pdu.tlvs.find((t) => t.tag === Tag.receipted_message_id);
          if ((Number(pdu.params.esm_class) & 0x04) !== 0 && tlv) receipt(tlv.value.toString('latin1').replace(/\0+$/, ''));
        } else if (pdu.command === 'enquire_link') write({ command: 'enquire_link_resp', sequence: pdu.sequence });
      }
      flush();
    });
    socket.on('connect', () => {
      write({ command: 'bind_transceiver', sequence: sequence++, params: { system_id: login, password, interface_version: 0x34 } });
      flush();
    });
    return {
      submit(destination, done) {
        const seq = sequence++;
        waiting.set(seq, done);
        write({ command: 'submit_sm', sequence: seq, params: { source_addr_ton: 5, source_addr: 'BENCH', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: destination, registered_delivery: 1, short_message: text } });
      },
      flush,
      close: () => socket.destroy(),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Child: the report sink
// ---------------------------------------------------------------------------------------------
function runSink() {
  /** tag -> { ids: Map<id, count>, last } */
  const tags = new Map();
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('OK');
    const q = req.url.indexOf('?');
    const tag = (q < 0 ? req.url : req.url.slice(0, q)).replace(/^\/dlr\//, '');
    const id = new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1)).get('transactionId');
    let t = tags.get(tag);
    if (!t) tags.set(tag, (t = { ids: new Map(), last: 0 }));
    t.last = Date.now();
    if (id) t.ids.set(id, (t.ids.get(id) || 0) + 1);
  });
  server.keepAliveTimeout = 120_000;
  server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
  process.on('message', (m) => {
    const t = tags.get(m.tag) ?? { ids: new Map(), last: 0 };
    const duplicates = [...t.ids.values()].filter((c) => c > 1).length;
    process.send({ type: 'stats', tag: m.tag, n: t.ids.size, duplicates, last: t.last, ids: m.withIds ? [...t.ids.keys()] : undefined });
  });
}

// ---------------------------------------------------------------------------------------------
// Parent
// ---------------------------------------------------------------------------------------------
const children = [];

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  if (spawnSync('wrk', ['--version']).error) fail('wrk is missing: apt-get install wrk');
  for (const app of [...lib.START_SERVICES, 'admin']) if (!fs.existsSync(path.join(root, 'apps', app, 'dist', 'main.js'))) fail(`apps/${app} is not built: npm run build`);
  if (OPENSMPPBOX) {
    try {
      fs.accessSync(OPENSMPPBOX, fs.constants.X_OK);
    } catch {
      fail(`BENCH_OPENSMPPBOX="${OPENSMPPBOX}" is not an executable file (an opensmppbox binary; see docs/operator-guide.md, bench:smpp)`);
    }
    if (!fs.existsSync(BEARERBOX)) fail(`${BEARERBOX} is missing (the kannel phase needs it): apt-get install kannel`);
    for (const [what, port] of Object.entries(KANNEL_PORTS)) {
      if (!(await lib.portFree(port))) fail(`port ${port} (Kannel ${what}) is in use; set BENCH_PORT_BASE to the start of 13 free ports (now ${portBase})`);
    }
  }
  console.log(`bench:smpp: ${seconds} s per phase; HTTP ${connections} keep-alive connections, SMPP window ${window} (client ${env.BENCH_SMPP_CLIENT || 'raw'}); receipts after ${dlrDelayMs} ms; ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  const sink = fork(__filename, ['--sink'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(sink);
  const sinkPort = await new Promise((resolve) => sink.once('message', (m) => resolve(m.port)));
  const sinkStats = (tag, withIds = false) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (m.type === 'stats' && m.tag === tag) {
          sink.off('message', on);
          resolve(m);
        }
      };
      sink.on('message', on);
      sink.send({ tag, withIds });
    });

  const otlp = TRACE_RATIO === '' ? null : await otlpReceiver();
  const platform = await launchPlatform({
    adminUrl,
    redisUrl,
    benchDb,
    prefix,
    ports: PORTS,
    env: {
      ...env,
      ...(otlp
        ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: TRACE_RATIO }
        : { OTEL_SDK_DISABLED: 'true' }),
      LOG_LEVEL: env.BENCH_LOG_LEVEL || 'warn',
      SIM_SMPP_PORT: String(PORTS.simSmpp),
      SIM_HTTP_PORT: String(PORTS.simHttp),
      SIM_TPS: '0',
      SIM_WINDOW: '100',
      SIM_DELIVER_WINDOW: '100',
      SIM_DLR_DELAY_MS: String(dlrDelayMs),
      SIM_RECORD_LIMIT: '1000',
      // The platform's connector binds as smsgw (the seeded connection); Kannel's bearerbox as kannel,
      // so that each gets the receipts of its own messages.
      ...(OPENSMPPBOX ? { SIM_ACCOUNTS: 'smsgw:smsgw,kannel:kannel' } : {}),
    },
    // Only its services' warnings and errors (LOG_LEVEL=warn); the banner and migrate output are left out.
    spawnStart: (platformEnv) => {
      const start = spawnStartJs(platformEnv);
      children.push(start);
      return start;
    },
    say: (line) => console.log(`bench:smpp: ${line}`),
  });
  const { pool } = platform;
  try {
    const adminCli = (args, input) => platform.adminCli(args, input);
    adminCli(['smsc', 'update', 'simulator', '--tps', '100000', '--window', '100']);
    for (const phase of ['http', 'smpp']) {
      adminCli(['partner', 'create', '--login', `bench-${phase}`, '--password', 'bench-pass', '--allowed-ips', '127.0.0.1,::1', '--senders', 'BENCH', '--default-sender', 'BENCH',
        '--rate-limit', '100000', '--status-url', phase === 'smpp' ? 'smpp:' : `http://127.0.0.1:${sinkPort}/dlr/${phase}`]);
    }
    adminCli(['partner', 'smpp-password', 'bench-smpp', '--password-stdin'], `${PASSWORD}\n`);
    await lib.sleep(3000); // the connector applies the new window in place; the bind settles

    const processes = async () => {
      const out = platform.services();
      out['postgres backends'] = (await platform.postgresPids()).backends;
      if (platform.redisPid) out['redis-server'] = [platform.redisPid];
      return out;
    };
    // PostgreSQL backends come and go with the pools: each pid's latest reading is kept.
    const tracker = lib.cpuTracker(processes);
    const cpuOf = () => tracker.totals();
    const submitsAtSmsc = async () => (await (await fetch(`http://127.0.0.1:${PORTS.simHttp}/counters`)).json()).submits;

    const results = {};
    for (const phase of ['http', 'smpp']) {
      const cpu0 = await cpuOf();
      const smsc0 = await submitsAtSmsc();
      const t0 = Date.now();
      const load = phase === 'http' ? await httpLoad() : await smppLoad();
      // SMPP: when the client's last submit was answered (it then waited for its receipts).
      const loadEnd = phase === 'smpp' ? load.loadEnd : Date.now();
      // What was stored: wrk does not count the requests in flight when its time is up, though the
      // platform may have accepted them.
      const storedIds = async () =>
        (await pool.query(`SELECT m.id::text AS id FROM message m JOIN partner p ON p.id = m.partner_id WHERE p.login = $1`, [`bench-${phase}`])).rows.map((row) => row.id);
      if (phase === 'http') {
        await lib.sleep(1000); // the answers wrk gave up on: their commits land within a group commit
        load.accepted = (await storedIds()).length;
      }
      // Reports until every stored message has one, or nothing new for drainTimeoutS (SMPP: the
      // client waited for its receipts already).
      let stats = phase === 'smpp' ? load.reports : await sinkStats(phase);
      let lastChange = Date.now();
      let lastN = stats.n;
      while (phase === 'http' && stats.n < (await storedIds()).length && Date.now() - lastChange < drainTimeoutS * 1000) {
        await lib.sleep(200);
        stats = await sinkStats(phase);
        if (stats.n !== lastN) {
          lastN = stats.n;
          lastChange = Date.now();
        }
      }
      const cpu1 = await cpuOf();
      const smsc = (await submitsAtSmsc()) - smsc0;
      const full = phase === 'smpp' ? load.reports : await sinkStats(phase, true);
      const stored = await storedIds();
      const reported = new Set(full.ids);
      const storedSet = new Set(stored);
      const missing = stored.filter((id) => !reported.has(id));
      const unreported = missing.length;
      if (unreported > 0) {
        const { rows } = await pool.query(
          `SELECT id::text, status, created_at, submitted_at, done_at, (SELECT max(created_at) FROM message WHERE partner_id = m.partner_id) AS last_created
           FROM message m WHERE id = ANY($1::bigint[]) LIMIT 5`,
          [missing],
        );
        console.log(`   stored without a report (up to 5): ${JSON.stringify(rows)}; load ended ${new Date(loadEnd).toISOString()}`);
      }
      const unknown = full.ids.filter((id) => !storedSet.has(id)).length;
      // Every stored message reported once; for SMPP also every id a submit_sm_resp gave stored.
      let exact = full.n === stored.length && full.duplicates === 0 && stored.every((id) => reported.has(id));
      if (phase === 'smpp') exact = exact && load.ids.length === stored.length && load.ids.every((id) => reported.has(id));
      const cpuMs = {};
      let total = 0;
      for (const k of Object.keys(cpu1)) {
        const ms = (cpu1[k] - (cpu0[k] ?? 0)) / Math.max(1, load.accepted);
        cpuMs[k] = Number(ms.toFixed(3));
        if (k !== 'smsc-simulator') total += ms;
      }
      results[phase] = {
        accepted: load.accepted,
        refused: load.refused,
        loadClientCpuMsPerAccepted: load.clientCpuMsPerAccepted ?? null,
        acceptedPerSecond: Math.round(load.accepted / load.seconds),
        latencyMs: load.latencyMs,
        smscSubmitsPerSecond: Math.round(smsc / ((stats.last - t0) / 1000 || 1)),
        reportsPerSecond: Math.round(full.n / ((full.last - t0) / 1000 || 1)),
        loadEndToLastReportSeconds: full.n ? Number(((full.last - loadEnd) / 1000).toFixed(2)) : null,
        exactlyOneReportPerAccepted: exact,
        duplicates: full.duplicates,
        cpuMsPerAccepted: cpuMs,
        gatewayCpuMsPerAccepted: Number(total.toFixed(3)),
      };
      const r = results[phase];
      console.log(`\n== ${phase.toUpperCase()}: accepted ${r.accepted} (${r.acceptedPerSecond}/s; refused ${JSON.stringify(r.refused)})  latency ms p50 ${r.latencyMs.p50} p90 ${r.latencyMs.p90} p99 ${r.latencyMs.p99}`);
      console.log(`   SMSC ${r.smscSubmitsPerSecond}/s  reports ${r.reportsPerSecond}/s (${full.n} distinct, ${full.duplicates} twice or more; stored ${stored.length}, stored without report ${unreported}, report without stored ${unknown}), load end → last report ${r.loadEndToLastReportSeconds} s; exactly one report per accepted message: ${r.exactlyOneReportPerAccepted ? 'yes' : 'NO'}`);
      console.log(`   CPU ms/accepted: ${Object.entries(r.cpuMsPerAccepted).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}; gateway (without the simulator) ${r.gatewayCpuMsPerAccepted.toFixed(3)}${load.clientCpuMsPerAccepted !== undefined ? `; the load's SMPP client ${load.clientCpuMsPerAccepted.toFixed(3)}` : ''}`);
      await lib.sleep(2000);
    }
    let kannelRatio = null;
    if (!OPENSMPPBOX) {
      console.log('\n== KANNEL: skipped; set BENCH_OPENSMPPBOX to an opensmppbox binary to run it (docs/operator-guide.md, bench:smpp)');
    } else {
      try {
        results.kannel = await kannelPhase();
      } catch (e) {
        console.log(`\n== KANNEL: failed: ${e.message}`);
        process.exitCode = 1;
      }
    }
    if (otlp) console.log(`\ntracing: ${TRACE_RATIO} of messages sampled; the OTLP receiver got ${otlp.requests} requests, ${(otlp.bytes / 1e6).toFixed(1)} MB`);
    const ratio = results.smpp.acceptedPerSecond / Math.max(1, results.http.acceptedPerSecond);
    console.log(`\nSMPP / HTTP accepted/s: ${ratio.toFixed(2)} (target 2.00: ${ratio >= 2 ? 'met' : 'NOT met'}); gateway CPU per message SMPP / HTTP: ${(results.smpp.gatewayCpuMsPerAccepted / results.http.gatewayCpuMsPerAccepted).toFixed(2)}`);
    if (results.kannel) {
      const k = results.kannel;
      kannelRatio = Number((results.smpp.acceptedPerSecond / Math.max(1, k.acceptedPerSecond)).toFixed(2));
      console.log(
        `platform SMPP / Kannel opensmppbox accepted/s: ${kannelRatio.toFixed(2)} (${results.smpp.acceptedPerSecond} / ${k.acceptedPerSecond}); ` +
          `submit_sm_resp p50 ${results.smpp.latencyMs.p50} / ${k.latencyMs.p50} ms; ` +
          `CPU ms per message, platform gateway (with PostgreSQL and Redis) / Kannel (bearerbox + opensmppbox): ${results.smpp.gatewayCpuMsPerAccepted.toFixed(3)} / ${k.gatewayCpuMsPerAccepted.toFixed(3)}`,
      );
    }
    console.log(JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, settings: { seconds, connections, window, dlrDelayMs, smppClient: env.BENCH_SMPP_CLIENT || 'raw', opensmppbox: Boolean(OPENSMPPBOX), traceRatio: TRACE_RATIO === '' ? null : Number(TRACE_RATIO) }, results, ratio, kannelRatio, otlp: otlp && { requests: otlp.requests, bytes: otlp.bytes } }));
    if (!results.http.exactlyOneReportPerAccepted || !results.smpp.exactlyOneReportPerAccepted) process.exitCode = 1;
    if (results.kannel && !results.kannel.exactlyOneReceiptPerAccepted) process.exitCode = 1;
    tracker.stop();
  } finally {
    await platform.stop();
    otlp?.server.close();
  }

  /** An OTLP/HTTP receiver: answers every export 200 and counts requests and bytes. */
  async function otlpReceiver() {
    const r = { requests: 0, bytes: 0, url: '', server: null };
    r.server = http.createServer((req, res) => {
      req.on('data', (c) => (r.bytes += c.length));
      req.on('end', () => {
        r.requests++;
        res.writeHead(200, { 'content-type': req.headers['content-type'] || 'application/x-protobuf' }).end();
      });
    });
    await new Promise((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${r.server.address().port}`;
    return r;
  }

  /**
   * wrk against /send for `seconds`: a different number per request, ending in 1 (the simulator
   * sends no receipt for numbers ending in 0000, as test mode). `accepted` is counted in the
   * database after.
   */
  async function httpLoad() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgw-bench-smpp-'));
    const script = path.join(dir, 'send.lua');
    fs.writeFileSync(
      script,
      `local n = 0
local thread_id = 0
local threads = {}
function setup(thread) thread_id = thread_id + 1; thread:set("tid", thread_id) end
function init(args) n = 0 end
function request()
  n = n + 1
  return wrk.format("GET", string.format("/send?serviceId=bench-http&pass=bench-pass&clientId=7904%d%05d1", tid, n % 100000) .. "&message=${encodeURIComponent(TEXT)}")
end
done = function(summary, latency, requests)
  io.write(string.format("LAT %.3f %.3f %.3f\\n", latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("NON2XX %d\\n", summary.errors.status))
end
`,
    );
    const r = await new Promise((resolve) => {
      const c = spawn('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '-s', script, `http://127.0.0.1:${PORTS.ingress}/`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('exit', () => resolve(out));
    });
    fs.rmSync(dir, { recursive: true, force: true });
    const requests = Number(/(\d+) requests in/.exec(r)?.[1] ?? 0);
    const non2xx = Number(/NON2XX (\d+)/.exec(r)?.[1] ?? 0);
    const [p50, p90, p99] = (/LAT (\S+) (\S+) (\S+)/.exec(r) ?? []).slice(1).map(Number);
    return { accepted: requests - non2xx, refused: non2xx ? { non2xx } : {}, seconds, latencyMs: { p50, p90, p99 } };
  }

  /**
   * The kannel phase: Kannel started (bearerbox bound to the platform's simulator as `kannel`,
   * opensmppbox in front of it), the same SMPP client against opensmppbox, Kannel stopped. The
   * platform stays up, idle: its simulator is the SMSC.
   */
  async function kannelPhase() {
    const kannel = await startKannel();
    try {
      const simulator = platform.services()['smsc-simulator']?.[0];
      const pids = { bearerbox: kannel.bearerbox.pid, opensmppbox: kannel.opensmppbox.pid, ...(simulator ? { 'smsc-simulator': simulator } : {}) };
      const cpu = () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, lib.cpuMs(pid)]));
      const submits = async () => (await (await fetch(`http://127.0.0.1:${PORTS.simHttp}/counters`)).json()).submits;
      const cpu0 = cpu();
      const smsc0 = await submits();
      const t0 = Date.now();
      const load = await smppLoad(KANNEL_PORTS.opensmppbox);
      const cpu1 = cpu();
      kannel.check();
      const smsc = (await submits()) - smsc0;
      // Matched as the client saw them: the ids of its submit_sm_resp against its receipts'
      // receipted_message_id (opensmppbox's own ids in both, not the simulator's).
      const accepted = new Set(load.ids);
      const received = new Set(load.reports.ids);
      const withoutReceipt = load.ids.filter((id) => !received.has(id)).length;
      const unknown = load.reports.ids.filter((id) => !accepted.has(id)).length;
      const exact =
        load.accepted > 0 && accepted.size === load.ids.length && !accepted.has('') && load.reports.n === load.ids.length && load.reports.duplicates === 0 && withoutReceipt === 0 && unknown === 0;
      const cpuMs = {};
      for (const k of Object.keys(pids)) cpuMs[k] = cpu0[k] === null || cpu1[k] === null ? null : Number(((cpu1[k] - cpu0[k]) / Math.max(1, load.accepted)).toFixed(3));
      const r = {
        accepted: load.accepted,
        refused: load.refused,
        loadClientCpuMsPerAccepted: load.clientCpuMsPerAccepted,
        acceptedPerSecond: Math.round(load.accepted / load.seconds),
        latencyMs: load.latencyMs,
        smscSubmitsPerSecond: Math.round(smsc / ((load.reports.last - t0) / 1000 || 1)),
        receiptsPerSecond: Math.round(load.reports.n / ((load.reports.last - t0) / 1000 || 1)),
        loadEndToLastReceiptSeconds: load.reports.n ? Number(((load.reports.last - load.loadEnd) / 1000).toFixed(2)) : null,
        exactlyOneReceiptPerAccepted: exact,
        duplicates: load.reports.duplicates,
        cpuMsPerAccepted: cpuMs,
        gatewayCpuMsPerAccepted: Number(((cpuMs.bearerbox ?? 0) + (cpuMs.opensmppbox ?? 0)).toFixed(3)),
      };
      console.log(`\n== KANNEL (bearerbox + opensmppbox): accepted ${r.accepted} (${r.acceptedPerSecond}/s; refused ${JSON.stringify(r.refused)})  latency ms p50 ${r.latencyMs.p50} p90 ${r.latencyMs.p90} p99 ${r.latencyMs.p99}`);
      console.log(
        `   SMSC ${r.smscSubmitsPerSecond}/s  receipts ${r.receiptsPerSecond}/s (${load.reports.n} distinct, ${r.duplicates} twice or more; accepted ${load.ids.length}, accepted without receipt ${withoutReceipt}, receipt for no accepted id ${unknown}), ` +
          `load end → last receipt ${r.loadEndToLastReceiptSeconds} s; exactly one receipt per accepted message: ${exact ? 'yes' : 'NO'}`,
      );
      console.log(
        `   CPU ms/accepted: ${Object.entries(cpuMs).map(([k, v]) => `${k} ${v === null ? '-' : v.toFixed(3)}`).join(', ')}; Kannel (bearerbox + opensmppbox) ${r.gatewayCpuMsPerAccepted.toFixed(3)}; the load's SMPP client ${r.loadClientCpuMsPerAccepted.toFixed(3)}`,
      );
      return r;
    } finally {
      await kannel.stop();
    }
  }

  /**
   * bearerbox and opensmppbox with their configuration in a temp directory, on KANNEL_PORTS, all on
   * 127.0.0.1; resolves once bearerbox's SMPP connection is online and opensmppbox listens.
   */
  async function startKannel() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgw-bench-smpp-kannel-'));
    const write = (name, lines) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, `${lines.join('\n')}\n`);
      return file;
    };
    const kannelConf = write('kannel.conf', [
      'group = core',
      `admin-port = ${KANNEL_PORTS.admin}`,
      'admin-password = bench',
      'admin-interface = 127.0.0.1',
      'admin-allow-ip = 127.0.0.1',
      `smsbox-port = ${KANNEL_PORTS.box}`,
      'smsbox-interface = 127.0.0.1',
      'log-level = 2',
      'store-type = file',
      `store-location = ${path.join(dir, 'kannel.store')}`,
      'dlr-storage = internal',
      '',
      'group = smsc',
      'smsc = smpp',
      'smsc-id = sim',
      'host = 127.0.0.1',
      `port = ${PORTS.simSmpp}`,
      'transceiver-mode = true',
      'smsc-username = kannel',
      'smsc-password = kannel',
      // Kannel refuses to start without one; the simulator ignores it.
      'system-type = ""',
      // The simulator's window, as the platform's connector has it.
      'max-pending-submits = 100',
      '',
      // bearerbox wants the group when smsbox-port is set; opensmppbox connects there as a box.
      'group = smsbox',
      'bearerbox-host = 127.0.0.1',
    ]);
    // system_id password system_type allowed-IPs; with use-systemid-as-smsboxid the system_type is
    // not compared (the client sends none) and the system_id is the box's id at bearerbox.
    const logins = write('smpplogins.txt', [`bench-smpp ${PASSWORD} bench 127.0.0.1`]);
    const boxConf = write('opensmppbox.conf', [
      'group = core',
      'dlr-storage = internal',
      '',
      'group = opensmppbox',
      'opensmppbox-id = bench',
      `opensmppbox-port = ${KANNEL_PORTS.opensmppbox}`,
      'bearerbox-host = 127.0.0.1',
      `bearerbox-port = ${KANNEL_PORTS.box}`,
      'our-system-id = kannel',
      'route-to-smsc = sim',
      `smpp-logins = ${logins}`,
      'use-systemid-as-smsboxid = true',
    ]);
    const procs = [];
    let stopping = false;
    const launch = (name, file, args, drop) => {
      const child = spawn(file, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      child.benchName = name;
      child.on('error', (e) => console.log(`[${name}] ${e.message}`));
      // While stopping: bearerbox's complaints that no box is connected any more, opensmppbox's
      // SIGINT line.
      lib.prefixOutput(child, name, process.stdout, (line) => !drop.some((re) => re.test(line)) && !(stopping && /WARNING: smsbox_list empty!|ERROR: SIGINT received/.test(line)));
      children.push(child);
      procs.push(child);
      return child;
    };
    const check = () => {
      for (const c of procs) if (!stopping && (c.exitCode !== null || c.signalCode !== null)) throw new Error(`${c.benchName} exited (${c.signalCode ?? c.exitCode}); see its lines above`);
    };
    const stopOne = async (child, signal, ms) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      await exited;
      clearTimeout(timer);
    };
    const stop = async () => {
      stopping = true;
      // opensmppbox ends on neither SIGTERM nor (within seconds) SIGINT; it keeps nothing we need.
      if (opensmppbox) await stopOne(opensmppbox, 'SIGINT', 2000);
      await stopOne(bearerbox, 'SIGTERM', 15000);
      fs.rmSync(dir, { recursive: true, force: true });
    };
    // A fresh store does not exist yet: bearerbox says so in three ERROR pairs at start, left out.
    const bearerbox = launch('bearerbox', BEARERBOX, ['-v', '2', kannelConf], [/ERROR: (fopen failed: couldn't open `.*kannel\.store|System error 2: No such file or directory)/, /WARNING: Killing signal or HTTP admin command received/]);
    let opensmppbox = null;
    try {
      await waitKannelOnline(30000, check);
      // Left out: a line per receipt (bearerbox passes the SMSC's error code as meta-data that
      // opensmppbox has no TLV for) and the line for a connection that closes without unbind (the
      // port probe below, the client at its end).
      opensmppbox = launch('opensmppbox', OPENSMPPBOX, ['-v', '2', boxConf], [/Unknown TLV `dlr_err'/, /ERROR: Invalid SMPP PDU received/]);
      opensmppbox.stopSignal = 'SIGKILL';
      await lib.waitForPort(KANNEL_PORTS.opensmppbox, 30000, check);
      // opensmppbox pauses 1 s after each connection it accepts (the probe's).
      await lib.sleep(1500);
      check();
    } catch (e) {
      await stop();
      throw e;
    }
    return { bearerbox, opensmppbox, check, stop };
  }

  /** Bearerbox's status page: the SMSC line says "online" once the SMPP bind succeeded. */
  async function waitKannelOnline(ms, check) {
    const until = Date.now() + ms;
    let last = '';
    while (Date.now() < until) {
      check();
      try {
        last = await (await fetch(`http://127.0.0.1:${KANNEL_PORTS.admin}/status.txt?password=bench`)).text();
        if (/\bonline\b/.test(last.slice(last.indexOf('SMSC connections')))) return;
      } catch {
        // not up yet
      }
      await lib.sleep(200);
    }
    throw new Error(`Kannel's SMSC connection did not come online within ${ms / 1000} s; status:\n${last}`);
  }

  /** The SMPP client for `seconds`, against the platform's SMPP server or another on `port`. */
  async function smppLoad(port = PORTS.smppServer) {
    const outFile = path.join(os.tmpdir(), `smsgw-bench-smpp-${process.pid}.json`);
    const client = spawn(process.execPath, [__filename, '--client', String(port), 'bench-smpp', PASSWORD, String(seconds), String(window), String(drainTimeoutS), outFile], { stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(client);
    const code = await new Promise((r) => client.on('exit', r));
    if (code !== 0) throw new Error(`the SMPP client exited with ${code}`);
    const r = JSON.parse(fs.readFileSync(outFile, 'utf8'));
    fs.rmSync(outFile, { force: true });
    const sorted = r.latencies.sort((a, b) => a - b);
    const fix = (v) => (v === null ? null : Number(v.toFixed(2)));
    return {
      accepted: r.accepted,
      refused: r.refused,
      ids: r.ids,
      seconds: (r.last - r.first) / 1000,
      loadEnd: r.loadEnd,
      clientCpuMsPerAccepted: Number((r.cpuMs / Math.max(1, r.accepted)).toFixed(3)),
      latencyMs: { p50: fix(percentile(sorted, 50)), p90: fix(percentile(sorted, 90)), p99: fix(percentile(sorted, 99)) },
      // As the sink counts them: distinct ids, those received more than once, the last one's time.
      reports: { n: r.receipts.length, duplicates: r.receipts.filter(([, c]) => c > 1).length, last: r.lastReceipt, ids: r.receipts.map(([id]) => id) },
    };
  }
}

main()
  .catch((e) => {
    console.error(`bench:smpp: ${e.stack || e}`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(c.stopSignal ?? 'SIGTERM');
  });
