// Tracing with OpenTelemetry, end to end: the built ingress, connector and callback worker (as
// operators run them, each its own process) export OTLP/HTTP to a collector of this test; one
// message sent to the SMSC simulator, its receipt and its report to the partner make one trace with
// spans from each of them. With tracing off, nothing is exported and the SDK is not even loaded.
const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile, spawn } = require('node:child_process');
const { promisify } = require('node:util');
const { randomBytes } = require('node:crypto');
const Redis = require('ioredis');
const { Pool } = require('pg');
const { root, freePort, clearRedisPrefix, stopChildren, waitFor, waitForService } = require('../lib/services');

jest.setTimeout(90_000);

const { createTestDatabase } = require(path.join(root, 'packages/db/dist/testing'));
const { hashApiPassword } = require(path.join(root, 'packages/db/dist'));
const { startSimulator } = require(path.join(root, 'apps/smsc-simulator/dist/index'));
const { decodePdu, encodePdu, PduFramer } = require(path.join(root, 'packages/sms/dist'));

const run = promisify(execFile);
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const PEPPER = 'tracing-pepper-0123456789';
const PARTNER = { login: 'traced', password: 'traced-api-password', smppPassword: 'smpp1234' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An OTLP/HTTP (JSON) trace receiver: every span it is sent, with its service's name. */
async function startCollector() {
  const spans = [];
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ path: req.url, contentType: req.headers['content-type'] });
      if (req.url === '/v1/traces' && /json/.test(req.headers['content-type'] ?? '')) {
        for (const rs of JSON.parse(body).resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue;
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              const attributes = Object.fromEntries((s.attributes ?? []).map((a) => [a.key, Object.values(a.value ?? {})[0]]));
              spans.push({ service, name: s.name, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId, attributes });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { spans, requests, url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Starts apps/<name>/dist/main.js with `env` and waits for its /health; its output is kept. */
async function startApp(name, portVar, env, children) {
  const port = await freePort();
  const output = [];
  const child = spawn(process.execPath, [path.join(root, 'apps', name, 'dist', 'main.js')], {
    cwd: root,
    env: { ...process.env, API_PASSWORD_PEPPER: PEPPER, NODE_ENV: 'development', LOG_LEVEL: 'info', ...env, [portVar]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout.on('data', (d) => output.push(String(d)));
  child.stderr.on('data', (d) => output.push(String(d)));
  await waitForService(`http://127.0.0.1:${port}`, child, output, name);
  return { name, port, child, output };
}

/** An SMPP client connection: `write` a PDU, `next()` resolves with the next one received. */
async function smppSession(port) {
  const socket = require('node:net').connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const framer = new PduFramer();
  const received = [];
  const waiters = [];
  socket.on('data', (c) => {
    for (const f of framer.push(c)) received.push(decodePdu(f));
    waiters.splice(0).forEach((w) => w());
  });
  return {
    write: (pdu) => socket.write(encodePdu(pdu)),
    next: async () => {
      while (received.length === 0) await new Promise((r) => waiters.push(r));
      return received.shift();
    },
    close: () => socket.destroy(),
  };
}

function get(port, target, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: target, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

describe('tracing with OpenTelemetry', () => {
  let db;
  let pool;
  let redis;
  let sim;
  let collector;
  let partnerServer;
  let journalDir;
  const received = [];
  /** Messages whose reports the partner answers with 500. */
  const refused = new Set();
  const children = [];
  const prefixes = [];

  beforeAll(async () => {
    for (const name of ['ingress-api', 'smsc-connector', 'callback-worker']) {
      if (!fs.existsSync(path.join(root, 'apps', name, 'dist', 'main.js'))) throw new Error(`apps/${name}/dist is missing: run npm run build first`);
    }
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 2 });
    redis = new Redis(REDIS_URL);
    collector = await startCollector();
    journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgw-tracing-'));
    partnerServer = http.createServer((req, res) => {
      const query = new URL(req.url, 'http://x').searchParams;
      received.push({ query, traceparent: req.headers.traceparent });
      res.statusCode = refused.has(query.get('transactionId')) ? 500 : 200;
      res.end('OK');
    });
    await new Promise((resolve) => partnerServer.listen(0, '127.0.0.1', resolve));
    sim = await startSimulator({ smppHost: '127.0.0.1', smppPort: 0, httpHost: '127.0.0.1', httpPort: 0, accounts: [{ systemId: 'smsgw', password: 'smsgw' }], dlrDelayMs: 30, recordLimit: 1000 });
    await pool.query(`INSERT INTO smsc_connection (name, host, port, system_id, password, tps, "window") VALUES ('sim', '127.0.0.1', $1, 'smsgw', 'smsgw', 100, 10)`, [sim.smppPort]);
    await pool.query(
      `INSERT INTO partner (login, name, api_password_hash, allowed_ips, senders, default_sender, rate_limit, status_url, postponed_enabled)
       VALUES ($1, 'Traced', $2, ARRAY['127.0.0.1/32','::1/128'], ARRAY['TRACED'], 'TRACED', 1000, $3, true)`,
      [PARTNER.login, hashApiPassword(PARTNER.password, PEPPER), `http://127.0.0.1:${partnerServer.address().port}/dlr`],
    );
  });

  afterAll(async () => {
    await stopChildren(children);
    await sim?.close({ unbind: false }).catch(() => undefined);
    partnerServer?.closeAllConnections();
    await new Promise((resolve) => (partnerServer ? partnerServer.close(resolve) : resolve()));
    await collector?.close();
    await pool?.end();
    for (const p of prefixes) await clearRedisPrefix(redis, p);
    await redis?.quit();
    await db?.drop();
    if (journalDir) fs.rmSync(journalDir, { recursive: true, force: true });
  });

  const send = (app, text, more = '', headers = {}) => get(app.port, `/send?serviceId=${PARTNER.login}&pass=${PARTNER.password}&clientId=79036550550&message=${encodeURIComponent(text)}${more}`, headers);
  /** The services' settings, on a Redis prefix of their own, exporting to the collector (OTLP/HTTP, JSON) every 100 ms. */
  function tracedEnv(more = {}) {
    const prefix = `ttrace${process.pid}_${randomBytes(3).toString('hex')}`;
    prefixes.push(prefix);
    return { DATABASE_URL: db.url, REDIS_URL, REDIS_PREFIX: prefix, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100', ...more };
  }
  let env;
  let ingress;
  let worker;
  let smppPort;

  it('one trace per message: ingress, connector (submit_sm and receipt) and callback worker', async () => {
    env = tracedEnv();
    ingress = await startApp('ingress-api', 'INGRESS_PORT', { ...env, INGRESS_HOST: '127.0.0.1' }, children);
    await startApp('smsc-connector', 'CONNECTOR_HTTP_PORT', { ...env, CONNECTOR_HTTP_HOST: '127.0.0.1', CONNECTOR_JOURNAL_DIR: journalDir }, children);
    // A report the partner refuses is parked at once (a horizon of 1 ms), with a log line.
    worker = await startApp('callback-worker', 'CALLBACK_HTTP_PORT', { ...env, CALLBACK_HTTP_HOST: '127.0.0.1', CALLBACK_ALLOW_PRIVATE_TARGETS: 'true', CALLBACK_JOURNAL_DIR: journalDir, CALLBACK_RETRY_HORIZON_MS: '1' }, children);

    const answer = await send(ingress, 'Hello, traced');
    expect(answer.status).toBe(200);
    const id = /^OK\n(\d+)$/.exec(answer.body)?.[1];
    expect(id).toBeDefined();
    const report = await waitFor('the delivery report', () => received.find((r) => r.query.get('transactionId') === id && r.query.get('status') === '2'), 20_000);

    const byName = (service, name) => collector.spans.filter((s) => s.service === service && s.name === name && s.attributes['smsgw.message_id'] === id);
    await waitFor('the callback span', () => byName('callback-worker', 'sms.callback').length > 0, 10_000);
    const [accept] = byName('ingress-api', 'sms.accept');
    expect(accept).toBeDefined();
    const traceId = accept.traceId;
    const trace = collector.spans.filter((s) => s.traceId === traceId);
    const spanOf = (service, name) => trace.filter((s) => s.service === service && s.name === name);

    // Every stage's span of the message, in the one trace, with the message id.
    const stages = [
      ['ingress-api', 'sms.accept'],
      ['smsc-connector', 'sms.dispatch'],
      ['smsc-connector', 'smpp submit_sm'],
      ['smsc-connector', 'sms.receipt'],
      ['callback-worker', 'sms.callback'],
    ];
    for (const [service, name] of stages) expect({ service, name, spans: spanOf(service, name).length }).toEqual({ service, name, spans: 1 });
    for (const [service, name] of stages) expect(spanOf(service, name)[0].attributes['smsgw.message_id']).toBe(id);

    // Parent and child: /send's server span → accept → dispatch → submit_sm; accept → receipt → callback → its GET.
    const one = (service, name) => spanOf(service, name)[0];
    const dispatch = one('smsc-connector', 'sms.dispatch');
    const receipt = one('smsc-connector', 'sms.receipt');
    const callback = one('callback-worker', 'sms.callback');
    const submit = one('smsc-connector', 'smpp submit_sm');
    expect(trace.find((s) => s.spanId === accept.parentSpanId)).toMatchObject({ service: 'ingress-api', attributes: expect.objectContaining({ 'http.request.method': 'GET' }) });
    expect(dispatch.parentSpanId).toBe(accept.spanId);
    expect(submit.parentSpanId).toBe(dispatch.spanId);
    expect(submit.attributes).toMatchObject({ 'smsgw.submit_result': 'accepted', 'smsgw.smsc_connection': 'sim' });
    expect(receipt.parentSpanId).toBe(accept.spanId);
    expect(receipt.attributes['smsgw.status']).toBe(2);
    expect(callback.parentSpanId).toBe(receipt.spanId);
    expect(callback.attributes).toMatchObject({ 'smsgw.callback_kind': 'dlr', 'smsgw.attempt': 1, 'http.response.status_code': 200 });
    // The database and Redis work of a stage is in the trace too (pg and ioredis instrumentations).
    expect(trace.some((s) => s.service === 'ingress-api' && /postgres/.test(String(s.attributes['db.system.name'] ?? s.attributes['db.system'])))).toBe(true);
    // The partner's request is the callback's child (undici), and carries the trace.
    const push = trace.find((s) => s.service === 'callback-worker' && s.parentSpanId === callback.spanId && s.attributes['url.full']);
    expect(push).toBeDefined();
    expect(report.traceparent).toBe(`00-${traceId}-${push.spanId}-01`);
    // The row keeps the accept span's traceparent, for the stages that only have the row.
    const { rows } = await pool.query('SELECT traceparent FROM message WHERE id = $1', [id]);
    expect(rows[0].traceparent).toBe(`00-${traceId}-${accept.spanId}-01`);
    // Probes are not traced.
    await get(ingress.port, '/health');
    await sleep(300);
    expect(collector.spans.filter((s) => s.attributes['url.path'] === '/health')).toEqual([]);
  });

  it('a message of two segments: a submit_sm span for each, and one receipt span once both are delivered', async () => {
    const answer = await send(ingress, 'Long and traced. '.repeat(12));
    const id = /^OK\n(\d+)$/.exec(answer.body)?.[1];
    expect(id).toBeDefined();
    await waitFor('the delivery report', () => received.find((r) => r.query.get('transactionId') === id && r.query.get('status') === '2'), 20_000);
    const mine = () => collector.spans.filter((s) => s.attributes['smsgw.message_id'] === id);
    await waitFor('the callback span', () => mine().some((s) => s.name === 'sms.callback'), 10_000);
    const [dispatch] = mine().filter((s) => s.name === 'sms.dispatch');
    const submits = mine().filter((s) => s.name === 'smpp submit_sm');
    expect(submits.map((s) => [s.parentSpanId, s.attributes['smsgw.segment']]).sort()).toEqual([[dispatch.spanId, 1], [dispatch.spanId, 2]]);
    const receipts = mine().filter((s) => s.name === 'sms.receipt');
    expect(receipts).toEqual([expect.objectContaining({ traceId: dispatch.traceId, attributes: expect.objectContaining({ 'smsgw.status': 2 }) })]);
    expect(mine().find((s) => s.name === 'sms.callback').parentSpanId).toBe(receipts[0].spanId);
  });

  it('a postponed message: its release by the scheduler is in its trace, between accept and dispatch', async () => {
    await startApp('scheduler', 'SCHEDULER_HTTP_PORT', { ...env, SCHEDULER_HTTP_HOST: '127.0.0.1', SCHEDULER_TASKS: 'release', SCHEDULER_RELEASE_INTERVAL_MS: '200' }, children);
    const at = new Date(Date.now() + 2000).toISOString().replace(/\.\d+Z$/, '+00:00');
    const answer = await send(ingress, 'Hello, later', `&send_at=${encodeURIComponent(at)}`);
    const id = /^OK\n(\d+)$/.exec(answer.body)?.[1];
    expect(id).toBeDefined();
    await waitFor('the delivery report', () => received.find((r) => r.query.get('transactionId') === id && r.query.get('status') === '2'), 20_000);
    const mine = () => collector.spans.filter((s) => s.attributes['smsgw.message_id'] === id);
    await waitFor('the callback span', () => mine().some((s) => s.name === 'sms.callback'), 10_000);
    const named = (name) => mine().filter((s) => s.name === name);
    const [accept] = named('sms.accept');
    const [release] = named('sms.release');
    expect(release).toMatchObject({ service: 'scheduler', traceId: accept.traceId, parentSpanId: accept.spanId });
    expect(named('sms.dispatch')).toEqual([expect.objectContaining({ service: 'smsc-connector', traceId: accept.traceId, parentSpanId: release.spanId })]);
    expect(named('sms.callback')).toEqual([expect.objectContaining({ service: 'callback-worker', traceId: accept.traceId })]);
  });

  it('a message submitted over SMPP: its trace starts at submit_sm in the SMPP server', async () => {
    await pool.query('UPDATE partner SET smpp_password_hash = $2 WHERE login = $1', [PARTNER.login, hashApiPassword(PARTNER.smppPassword, PEPPER)]);
    // And a partner whose reports go back over its SMPP binds (the next test).
    await pool.query(
      `INSERT INTO partner (login, name, api_password_hash, smpp_password_hash, allowed_ips, senders, default_sender, rate_limit, status_url)
       VALUES ('relayed', 'Relayed', 'x', $1, ARRAY['127.0.0.1/32','::1/128'], ARRAY['RELAYED'], 'RELAYED', 1000, 'smpp:')`,
      [hashApiPassword(PARTNER.smppPassword, PEPPER)],
    );
    smppPort = await freePort();
    await startApp('smpp-server', 'SMPP_SERVER_HTTP_PORT', { ...env, SMPP_SERVER_HTTP_HOST: '127.0.0.1', SMPP_SERVER_HOST: '127.0.0.1', SMPP_SERVER_PORT: String(smppPort) }, children);
    const session = await smppSession(smppPort);
    try {
      session.write({ command: 'bind_transmitter', sequence: 1, params: { system_id: PARTNER.login, password: PARTNER.smppPassword, interface_version: 0x34 } });
      expect(await session.next()).toMatchObject({ command: 'bind_transmitter_resp', status: 0 });
      session.write({ command: 'submit_sm', sequence: 2, params: { source_addr_ton: 5, source_addr: 'TRACED', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79036550551', short_message: Buffer.from('Hello over SMPP'), registered_delivery: 1 } });
      const answer = await session.next();
      expect(answer).toMatchObject({ command: 'submit_sm_resp', status: 0 });
      const id = String(answer.params.message_id);
      // The report goes to the partner's status URL (HTTP), as for a message sent with /send.
      await waitFor('the delivery report', () => received.find((r) => r.query.get('transactionId') === id && r.query.get('status') === '2'), 20_000);
      const mine = () => collector.spans.filter((s) => s.attributes['smsgw.message_id'] === id);
      await waitFor('the callback span', () => mine().some((s) => s.name === 'sms.callback'), 10_000);
      const [accept] = mine().filter((s) => s.name === 'sms.accept');
      // A root: nothing came before submit_sm.
      expect(accept).toMatchObject({ service: 'smpp-server' });
      expect(accept.parentSpanId ?? '').toBe('');
      const services = new Set(mine().filter((s) => s.traceId === accept.traceId).map((s) => `${s.service} ${s.name}`));
      expect([...services].sort()).toEqual(['callback-worker sms.callback', 'smpp-server sms.accept', 'smsc-connector smpp submit_sm', 'smsc-connector sms.dispatch', 'smsc-connector sms.receipt']);
    } finally {
      session.close();
    }
  });

  it('a report relayed to the SMPP server continues the trace in the SMPP server', async () => {
    const session = await smppSession(smppPort);
    try {
      session.write({ command: 'bind_transceiver', sequence: 1, params: { system_id: 'relayed', password: PARTNER.smppPassword, interface_version: 0x34 } });
      expect(await session.next()).toMatchObject({ command: 'bind_transceiver_resp', status: 0 });
      session.write({ command: 'submit_sm', sequence: 2, params: { source_addr_ton: 5, source_addr: 'RELAYED', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79036550552', short_message: Buffer.from('Hello, relayed'), registered_delivery: 1 } });
      const answer = await session.next();
      expect(answer).toMatchObject({ command: 'submit_sm_resp', status: 0 });
      const id = String(answer.params.message_id);
      const receipt = await session.next();
      expect(receipt).toMatchObject({ command: 'deliver_sm', params: expect.objectContaining({ esm_class: 4 }) });
      session.write({ command: 'deliver_sm_resp', sequence: receipt.sequence, status: 0, params: { message_id: '' } });
      const mine = () => collector.spans.filter((s) => s.attributes['smsgw.message_id'] === id);
      await waitFor('the callback span', () => mine().some((s) => s.name === 'sms.callback'), 10_000);
      const callback = mine().find((s) => s.name === 'sms.callback');
      // The worker's POST to the relay (undici), and the SMPP server's handling of it (http), in the message's trace.
      const post = await waitFor('the relay request span', () => collector.spans.find((s) => s.service === 'callback-worker' && s.parentSpanId === callback.spanId && s.attributes['url.full']), 5000);
      const relay = await waitFor('the relay span', () => collector.spans.find((s) => s.service === 'smpp-server' && s.parentSpanId === post.spanId), 5000);
      expect(relay).toMatchObject({ traceId: callback.traceId, attributes: expect.objectContaining({ 'http.request.method': 'POST' }) });
      expect(mine().find((s) => s.name === 'sms.accept')).toMatchObject({ service: 'smpp-server', traceId: callback.traceId });
    } finally {
      session.close();
    }
  });

  it('a log line written in a message\'s span carries its trace id and the message id', async () => {
    const answer = await send(ingress, 'Hello, refused');
    const id = /^OK\n(\d+)$/.exec(answer.body)?.[1];
    expect(id).toBeDefined();
    refused.add(id);
    await waitFor('the accept span', () => collector.spans.some((s) => s.name === 'sms.accept' && s.attributes['smsgw.message_id'] === id), 20_000);
    const traceId = collector.spans.find((s) => s.name === 'sms.accept' && s.attributes['smsgw.message_id'] === id).traceId;
    // The worker's line about the report it parked.
    const parked = await waitFor('the report parked', () => {
      const lines = worker.output.join('').split('\n').filter((l) => l.includes(`report ${id}/2`));
      return lines.length > 0 && lines.map((l) => JSON.parse(l));
    }, 20_000);
    expect(parked).toEqual([expect.objectContaining({ trace_id: traceId, messageId: id, msg: expect.stringContaining('parked after 1 attempts') })]);
  });

  it('with a ratio sampler, a message not sampled at /send leaves no span anywhere and no traceparent', async () => {
    // Ratio 0 at the root: nothing is sampled, and the later stages follow the parent.
    await stopChildren(children.splice(0));
    env = tracedEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
    const before = collector.spans.length;
    ingress = await startApp('ingress-api', 'INGRESS_PORT', { ...env, INGRESS_HOST: '127.0.0.1' }, children);
    await startApp('smsc-connector', 'CONNECTOR_HTTP_PORT', { ...env, CONNECTOR_HTTP_HOST: '127.0.0.1', CONNECTOR_JOURNAL_DIR: journalDir }, children);
    await startApp('callback-worker', 'CALLBACK_HTTP_PORT', { ...env, CALLBACK_HTTP_HOST: '127.0.0.1', CALLBACK_ALLOW_PRIVATE_TARGETS: 'true', CALLBACK_JOURNAL_DIR: journalDir }, children);
    // The second one comes with a sampled traceparent of the partner's own: not taken either.
    const ids = [];
    for (const headers of [{}, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }]) {
      const answer = await send(ingress, 'Hello, not sampled', '', headers);
      const id = /^OK\n(\d+)$/.exec(answer.body)?.[1];
      expect(id).toBeDefined();
      ids.push(id);
    }
    for (const id of ids) {
      const report = await waitFor('the delivery report', () => received.find((r) => r.query.get('transactionId') === id && r.query.get('status') === '2'), 20_000);
      expect(report.traceparent).toBeUndefined();
      expect((await pool.query('SELECT traceparent FROM message WHERE id = $1', [id])).rows[0].traceparent).toBeNull();
    }
    await sleep(500);
    expect(collector.spans.slice(before)).toEqual([]);
  });

  it('a stopping service exports the spans it still holds', async () => {
    await stopChildren(children.splice(0));
    // Spans held for a minute: only the flush at shutdown can send them before the test ends.
    env = tracedEnv({ OTEL_BSP_SCHEDULE_DELAY: '60000' });
    ingress = await startApp('ingress-api', 'INGRESS_PORT', { ...env, INGRESS_HOST: '127.0.0.1' }, children);
    const id = /^OK\n(\d+)$/.exec((await send(ingress, 'Hello, flushed')).body)?.[1];
    expect(id).toBeDefined();
    await sleep(300);
    const accepted = () => collector.spans.filter((s) => s.name === 'sms.accept' && s.attributes['smsgw.message_id'] === id);
    expect(accepted()).toEqual([]);
    await stopChildren(children.splice(0));
    expect(accepted()).toEqual([expect.objectContaining({ service: 'ingress-api' })]);
  });

  it('off: OTEL_SDK_DISABLED=true exports nothing; without OTEL_* the SDK is not even loaded', async () => {
    await stopChildren(children.splice(0));
    const requestsBefore = collector.requests.length;
    env = tracedEnv({ OTEL_SDK_DISABLED: 'true' });
    ingress = await startApp('ingress-api', 'INGRESS_PORT', { ...env, INGRESS_HOST: '127.0.0.1' }, children);
    const answer = await send(ingress, 'Hello, untraced');
    const id = /^OK\n(\d+)$/.exec(answer.body)?.[1];
    expect(id).toBeDefined();
    await sleep(500);
    expect(collector.requests.slice(requestsBefore)).toEqual([]);
    expect((await pool.query('SELECT traceparent FROM message WHERE id = $1', [id])).rows[0].traceparent).toBeNull();

    // What an app's first import does, under each environment: whether it started the SDK.
    const probe = `require(${JSON.stringify(path.join(root, 'apps/ingress-api/dist/tracing.js'))});
      const { tracing } = require(${JSON.stringify(path.join(root, 'packages/common/dist/message-trace.js'))});
      const loaded = Object.keys(require.cache).filter((k) => k.includes('@opentelemetry/sdk-node') || k.includes('@opentelemetry/instrumentation-pg'));
      process.stdout.write(JSON.stringify({ on: tracing.on, loaded: loaded.length > 0 }));`;
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
    const started = async (otel) => JSON.parse((await run(process.execPath, ['-e', probe], { cwd: root, env: { ...clean, ...otel } })).stdout);
    expect(await started({})).toEqual({ on: false, loaded: false });
    expect(await started({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SDK_DISABLED: 'true' })).toEqual({ on: false, loaded: false });
    expect(await started({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_TRACES_EXPORTER: 'none' })).toEqual({ on: false, loaded: false });
    expect(await started({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual({ on: true, loaded: true });
    expect(await started({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces` })).toEqual({ on: true, loaded: true });
  });
});
