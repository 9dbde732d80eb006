// Runs the fuzz (scripts/lib/fuzz-cases.js) against a built ingress and portal, started as child
// processes on a fresh database and Redis prefix, and checks what they answered and kept:
//   - no 5xx but the documented ones (ingress: 503 "A request with this partnerMsgId is still being
//     processed"; with a healthy database no 500; portal: none);
//   - no portal answer without a session (2xx JSON from /api/ without a valid session cookie) and no
//     operator route answered for a partner session;
//   - both processes alive and /health answering 200 at the end;
//   - the message table holds exactly the ids answered OK by /send;
//   - RSS after the run and a settle period within a tolerance of RSS after the warm-up.
// `runFuzz(options)` resolves to { ok, failures, report } and prints as it goes through `log`.
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const Redis = require('ioredis');
const { Pool } = require('pg');
const { createRng, nextCase } = require('./fuzz-cases');
const { root, freePort, freshDatabase, clearRedisPrefix, startService, rssKb, cpuSeconds, withDatabase } = require('./services');

const IN_FLIGHT_TEXT = 'A request with this partnerMsgId is still being processed';
const PARTNER_ID = 777777; // the ingress partner; operator writes never target it
const USERS = { operator: 777001, partner: 777002, spare: 777003 };
const USER_LOGINS = { operator: 'fz-operator', partner: 'fz-partner', spare: 'fz-spare' };
const USER_PASSWORD = 'fuzz-user-password';
const PEPPER = 'fuzz-pepper-0123456789';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Answers of /send that accepted a message: the id, in any of the three formats. */
function okId(body) {
  let m = /^OK\n(\d+)$/.exec(body);
  if (m) return m[1];
  m = /^\{"code":200,"text":"OK","id":"(\d+)"/.exec(body);
  if (m) return m[1];
  m = /<code>200<\/code><text>OK<\/text><payload><id>(\d+)<\/id>/.exec(body);
  return m ? m[1] : null;
}

/** The protocol code in an xml/json ingress answer (HTTP 200 for every processed request). */
function bodyCode(body) {
  const m = /^\{"code":(\d+)/.exec(body) || /<response><code>(\d+)<\/code>/.exec(body);
  return m ? Number(m[1]) : null;
}

/** Splits raw bytes into the HTTP responses in them (status, headers, body); the last may be cut. */
function parseResponses(buf) {
  const out = [];
  let at = 0;
  while (at < buf.length) {
    const headEnd = buf.indexOf('\r\n\r\n', at);
    if (headEnd < 0 || buf.toString('latin1', at, at + 5) !== 'HTTP/') break;
    const head = buf.toString('latin1', at, headEnd);
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(head)?.[1] ?? 0);
    const headers = {};
    for (const line of head.split('\r\n').slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let bodyStart = headEnd + 4;
    let body;
    if (status < 200 || status === 204 || status === 304) body = Buffer.alloc(0);
    else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      body = buf.subarray(bodyStart, bodyStart + n);
      bodyStart += n;
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts = [];
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', bodyStart);
        if (lineEnd < 0) break;
        const size = parseInt(buf.toString('latin1', bodyStart, lineEnd), 16);
        bodyStart = lineEnd + 2;
        if (!(size > 0)) {
          bodyStart += 2;
          break;
        }
        parts.push(buf.subarray(bodyStart, bodyStart + size));
        bodyStart += size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      body = buf.subarray(bodyStart);
      bodyStart = buf.length;
    }
    out.push({ status, headers, body: body.toString('utf8') });
    at = bodyStart;
  }
  return out;
}

/** The path a request names, percent-decoded and without an absolute-form prefix or query. */
function routedPath(target) {
  let p = String(target).split('?')[0];
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(p);
  if (abs) p = p.slice(abs[0].length) || '/';
  try {
    return decodeURIComponent(p);
  } catch {
    return p.replace(/%([0-9a-f]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
  }
}

const truncate = (s, n = 300) => {
  const t = Buffer.isBuffer(s) ? s.toString('latin1') : String(s ?? '');
  return t.length > n ? `${t.slice(0, n)}… (${t.length} chars)` : t;
};

class Stats {
  constructor() {
    this.byTarget = new Map(); // target -> Map(class -> n)
    this.byFamily = new Map(); // `${target} | family` -> Map(class -> n)
    this.unexpected = new Map(); // kind -> { n, examples }
    this.requests = 0;
    this.time = new Map(); // family -> ms spent waiting for its cases
  }
  count(target, family, cls) {
    for (const [map, key] of [
      [this.byTarget, target],
      [this.byFamily, `${target.split(' ')[0]} ${family}`],
    ]) {
      if (!map.has(key)) map.set(key, new Map());
      const m = map.get(key);
      m.set(cls, (m.get(cls) ?? 0) + 1);
    }
  }
  flag(kind, request, response) {
    if (!this.unexpected.has(kind)) this.unexpected.set(kind, { n: 0, examples: [] });
    const u = this.unexpected.get(kind);
    u.n++;
    if (u.examples.length < 4) u.examples.push({ request: truncate(request), response: truncate(response) });
  }
}

/** One HTTP case over a keep-alive agent; resolves to { status, headers, body } or { error }. */
function httpRequest(agent, port, c, headers, timeoutMs) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r) => {
      if (!done) (done = true), resolve(r);
    };
    let req;
    try {
      // A server may answer before it has read a body (415, 413) or an overlong head (431) and then
      // close: such requests get a connection of their own, so no other request is sent on a
      // connection that is about to close (a client-side race, not the server's fault).
      const own = c.body !== undefined || c.path.length > 8000 ? { connection: 'close' } : {};
      req = http.request({ host: '127.0.0.1', port, method: c.method, path: c.path, headers: { ...c.headers, ...headers, ...own }, agent, timeout: timeoutMs }, (res) => {
        // Fastify answers a request it cannot parse (400, 431) without `Connection: close` and then
        // closes the connection; without this the agent would send the next request on it and get
        // a reset. A kept-alive answer carries `connection: keep-alive`.
        if (res.headers.connection !== 'keep-alive') req.shouldKeepAlive = false;
        const chunks = [];
        let size = 0;
        res.on('data', (d) => {
          if (size < 262_144) chunks.push(d);
          size += d.length;
        });
        res.on('end', () => {
          if (process.env.FUZZ_DEBUG_ERRORS && req.socket) req.socket.fuzzLast = `${c.method} ${res.statusCode} ${res.headers.connection} ${c.path.slice(0, 80)}`;
          finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (e) => finish({ error: e.code || e.message }));
        res.on('aborted', () => finish({ error: 'ECONNRESET' }));
      });
    } catch (e) {
      return finish({ error: `client refused: ${e.code || e.message}` });
    }
    req.on('timeout', () => {
      req.destroy(new Error('timeout'));
      finish({ error: 'timeout' });
    });
    req.on('error', (e) => finish({ error: e.message === 'timeout' ? 'timeout' : `${e.code || e.message}${process.env.FUZZ_DEBUG_ERRORS && req.reusedSocket ? ` (reused after ${req.socket?.fuzzLast})` : ''}` }));
    if (c.body !== undefined) req.end(c.body);
    else req.end();
  });
}

/** One raw-socket case: writes its chunks (with pauses), then reads, or disconnects mid-request. */
function rawRequest(port, c) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const received = [];
    let size = 0;
    let outcome = null;
    let lastData = 0;
    let timer = null;
    const finish = (o) => {
      if (outcome) return;
      outcome = o;
      clearInterval(timer);
      socket.destroy();
      resolve({ outcome, data: Buffer.concat(received) });
    };
    socket.on('data', (d) => {
      if (size < 1_000_000) received.push(d);
      size += d.length;
      lastData = Date.now();
    });
    socket.on('end', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('error', (e) => finish(e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'reset' : e.code || e.message));
    socket.on('connect', async () => {
      for (const chunk of c.chunks) {
        if (outcome) return;
        if (Buffer.isBuffer(chunk)) {
          if (!socket.write(chunk)) await new Promise((r) => (socket.once('drain', r), socket.once('close', r)));
        } else await sleep(chunk.delay);
      }
      if (c.end === 'close') {
        await sleep(c.timeoutMs);
        return finish('left mid-request');
      }
      const started = Date.now();
      // Read until the server closes, the answer went quiet for 300 ms, or the bound.
      timer = setInterval(() => {
        const now = Date.now();
        if (lastData && now - lastData > 300) finish('quiet');
        else if (now - started > c.timeoutMs) finish('timeout');
      }, 50);
    });
  });
}

/**
 * options: { requests, seconds, seed, concurrency, settleSeconds, rssToleranceMb, database,
 *   redisPrefix, keepDatabase, log }
 */
async function runFuzz(options) {
  const o = { requests: 100_000, seconds: 900, seed: 1, concurrency: 48, settleSeconds: 20, rssToleranceMb: 100, warmup: 600, keepDatabase: true, log: (s) => process.stdout.write(`${s}\n`), ...options };
  const log = o.log;
  const serverUrl = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const failures = [];
  const t0 = Date.now();

  const databaseUrl = await freshDatabase(serverUrl, o.database);
  const redis = new Redis(redisUrl);
  await clearRedisPrefix(redis, o.redisPrefix);
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const { hashApiPassword, hashUserPassword } = require(path.join(root, 'packages/db/dist'));

  // The ingress partner (allowed from loopback, no practical rate limit), decoy partners and users
  // for the portal's write endpoints, a partner user, an SMSC connection and a blacklisted number.
  const partner = { id: PARTNER_ID, login: 'fuzz', password: 'fuzz-api-password' };
  await pool.query(
    `INSERT INTO partner (id, login, name, api_password_hash, allowed_ips, senders, default_sender, rate_limit, postponed_enabled)
     VALUES ($1, $2, 'Fuzz', $3, ARRAY['127.0.0.1/32','::1/128'], ARRAY['FUZZ','4565'], 'FUZZ', 1000000, true)`,
    [PARTNER_ID, partner.login, hashApiPassword(partner.password, PEPPER)],
  );
  const { rows: decoys } = await pool.query(
    `INSERT INTO partner (login, name, api_password_hash, allowed_ips, senders, default_sender)
     SELECT 'decoy' || g, 'Decoy ' || g, $1, ARRAY['10.0.0.1/32'], ARRAY['DECOY'], 'DECOY' FROM generate_series(1, 5) g RETURNING id`,
    [hashApiPassword('decoy', PEPPER)],
  );
  const decoyPartnerIds = decoys.map((r) => r.id);
  const hash = await hashUserPassword(USER_PASSWORD);
  await pool.query(
    `INSERT INTO app_user (id, login, password_hash, role, partner_id) VALUES
       ($1, $4, $7, 'operator', NULL), ($2, $5, $7, 'partner', $8), ($3, $6, $7, 'operator', NULL)`,
    [USERS.operator, USERS.partner, USERS.spare, USER_LOGINS.operator, USER_LOGINS.partner, USER_LOGINS.spare, hash, decoyPartnerIds[0]],
  );
  const { rows: decoyUsers } = await pool.query(`INSERT INTO app_user (login, password_hash, role, partner_id) SELECT 'decoy-user' || g, $1, 'partner', $2 FROM generate_series(1, 5) g RETURNING id`, [hash, decoyPartnerIds[1]]);
  const { rows: smsc } = await pool.query(`INSERT INTO smsc_connection (name, host, port, system_id, password) SELECT 'decoy' || g, '127.0.0.1', 1, 'decoy', 'pw' FROM generate_series(1, 3) g RETURNING id`);
  await pool.query(`INSERT INTO blacklisted_number (msisdn, reason) VALUES ('79036550599', 'fuzz')`);

  const [ingressPort, portalPort] = [await freePort(), await freePort()];
  const common = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_PREFIX: o.redisPrefix, API_PASSWORD_PEPPER: PEPPER, LOG_LEVEL: 'warn' };
  const ingress = await startService({ name: 'ingress-api', main: 'apps/ingress-api/dist/main.js', port: ingressPort, env: { ...common, INGRESS_PORT: String(ingressPort), INGRESS_HOST: '127.0.0.1' } });
  const portal = await startService({
    name: 'portal',
    main: 'apps/portal/dist/main.js',
    port: portalPort,
    env: { ...common, NODE_ENV: 'test', PORTAL_PORT: String(portalPort), PORTAL_HOST: '127.0.0.1', CONNECTOR_URLS: 'http://127.0.0.1:1', PORTAL_LOGIN_MAX_FAILURES: '1000', PORTAL_IP_MAX_FAILURES: '10000', PORTAL_LOCKOUT_MINUTES: '1' },
  });
  const children = { 'ingress-api': ingress, portal };
  log(`fuzz: seed ${o.seed}, ${o.requests} requests, at most ${o.seconds} s, ${o.concurrency} concurrent; ingress pid ${ingress.child.pid} port ${ingressPort}, portal pid ${portal.child.pid} port ${portalPort}, database ${o.database}, Redis prefix ${o.redisPrefix}`);

  const ctx = {
    partner,
    blacklisted: '79036550599',
    ingressPort,
    portalPort,
    okIds: [],
    decoyPartnerIds,
    decoyUserIds: decoyUsers.map((r) => r.id),
    decoySmscIds: smsc.map((r) => r.id),
    protectedIds: new Set([String(PARTNER_ID), ...Object.values(USERS).map(String)]),
  };
  const okIds = new Set();
  const lostAnswers = new Set(); // partnerMsgIds of raw cases that did not get every answer
  const stats = new Stats();
  const agents = { ingress: new http.Agent({ keepAlive: true, maxSockets: o.concurrency }), portal: new http.Agent({ keepAlive: true, maxSockets: o.concurrency }) };

  // Portal sessions (cookie + CSRF token), renewed when one ends.
  const sessions = {};
  let relogins = 0;
  async function login(who) {
    const res = await httpRequest(agents.portal, portalPort, { method: 'POST', path: '/api/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: USER_LOGINS[who], password: USER_PASSWORD }) }, {}, 30_000);
    if (res.status !== 200) return (sessions[who] = null);
    const cookie = [res.headers['set-cookie'] ?? []].flat().map((c) => c.split(';')[0]).join('; ');
    sessions[who] = { cookie, csrf: JSON.parse(res.body).csrfToken };
    return sessions[who];
  }
  for (const who of Object.keys(USERS)) if (!(await login(who))) throw new Error(`fuzz: cannot log in as ${who}`);
  const renewing = {};

  async function runCase(c) {
    const target = c.via === 'raw' ? `raw ${c.target}` : c.target === 'ingress' ? `ingress ${['/send', '/status', '/cancel'].includes(c.path.split('?')[0]) ? c.path.split('?')[0] : 'other'}` : `portal ${c.family}`;
    if (c.via === 'raw') {
      const port = c.target === 'ingress' ? ingressPort : portalPort;
      const { outcome, data } = await rawRequest(port, c);
      const answers = parseResponses(data);
      const request = Buffer.concat(c.chunks.filter(Buffer.isBuffer));
      const cls = answers.length ? String(answers[0].status) : outcome === 'quiet' ? 'closed' : outcome;
      const heads = request.toString('latin1').split('\r\n\r\n').length - 1;
      // Answers this connection may have lost: fewer answers than requests, no end, or a framework
      // parse-error answer (fastify writes it at once and closes, ahead of answers still being made
      // for earlier requests on the connection, e.g. a body longer than its Content-Length).
      const parseError = answers.some((a) => a.status === 431 || (a.status === 400 && a.body.includes('"Client Error"')));
      if (c.target === 'ingress' && (answers.filter((a) => a.status >= 200).length < heads || outcome === 'timeout' || outcome === 'reset' || parseError)) lostAnswers.add(`raw-${c.seq}`);
      stats.count(target, c.family, cls);
      for (const a of answers) {
        if (c.target === 'ingress') {
          const id = okId(a.body);
          if (id) okIds.add(id), ctx.okIds.length < 5000 && ctx.okIds.push(id);
          const code = a.status === 200 ? (bodyCode(a.body) ?? 200) : a.status;
          if (code >= 500 && !(code === 503 && a.body.includes(IN_FLIGHT_TEXT))) stats.flag(`${target}: ${code}`, request, `${a.status} ${a.body}`);
        } else {
          if (a.status >= 500) stats.flag(`${target}: ${a.status}`, request, `${a.status} ${a.body}`);
          if (a.status >= 200 && a.status < 300 && /json/.test(a.headers['content-type'] ?? '')) stats.flag(`${target}: answered without a session`, request, `${a.status} ${a.body}`);
        }
      }
      return;
    }
    const headers = {};
    let session = null;
    if (c.session === 'bogus') headers.cookie = `smsgw_session=${'b'.repeat(43)}; smsgw_csrf=x`;
    else if (c.session) {
      session = sessions[c.session];
      if (session) {
        headers.cookie = session.cookie;
        if (c.csrf === 'right') headers['x-csrf-token'] = session.csrf;
        else if (c.csrf === 'wrong') headers['x-csrf-token'] = 'x'.repeat(session.csrf.length);
      }
    }
    const res = await httpRequest(agents[c.target], c.target === 'ingress' ? ingressPort : portalPort, c, headers, 30_000);
    const request = `${c.method} ${c.path}${c.session ? ` [session ${c.session}]` : ''}\n${c.body === undefined ? '' : truncate(c.body, 200)}`;
    if (res.error) {
      const cls = process.env.FUZZ_DEBUG_ERRORS ? res.error : res.error === 'timeout' ? 'timeout' : /ECONNRESET|EPIPE|socket hang up/.test(res.error) ? 'reset' : res.error;
      stats.count(target, c.family, cls);
      if (res.error.startsWith('client refused')) stats.flag('generator: request the HTTP client refused', request, res.error);
      return;
    }
    if (c.target === 'ingress') {
      const code = res.status === 200 ? (bodyCode(res.body) ?? 200) : res.status;
      stats.count(target, c.family, code === res.status ? String(res.status) : `200/${code}`);
      const id = okId(res.body);
      if (id) okIds.add(id), ctx.okIds.length < 5000 && ctx.okIds.push(id);
      if (code >= 500 && !(code === 503 && res.body.includes(IN_FLIGHT_TEXT))) stats.flag(`${target}: ${code}`, request, `${res.status} ${res.body}`);
      return;
    }
    stats.count(target, c.family, String(res.status));
    if (res.status >= 500) stats.flag(`${target}: ${res.status}`, request, `${res.status} ${res.body}`);
    const routed = routedPath(c.path);
    const json = /json/.test(res.headers['content-type'] ?? '');
    if (res.status < 300 && json && routed.startsWith('/api/') && routed !== '/api/auth/login' && (!c.session || c.session === 'bogus' || !session)) stats.flag(`${target}: answered without a session`, request, `${res.status} ${res.body}`);
    if (res.status < 300 && json && c.session === 'partner' && session && /^\/api\/operator(\/|$)/i.test(routed)) stats.flag(`${target}: operator route answered for a partner`, request, `${res.status} ${res.body}`);
    // A session ended (logout, password change on the spare account, or a decoy change): log in again.
    if (res.status === 401 && session && c.session && !renewing[c.session] && sessions[c.session] === session) {
      renewing[c.session] = true;
      relogins++;
      await login(c.session).finally(() => (renewing[c.session] = false));
    }
  }

  async function drive(rng, total, seconds, filter) {
    let issued = 0;
    const until = Date.now() + seconds * 1000;
    let lastReport = Date.now();
    const worker = async () => {
      while (issued < total && Date.now() < until) {
        const c = nextCase(rng, ctx);
        if (filter && !filter(c)) continue;
        issued++;
        stats.requests++;
        const began = Date.now();
        await runCase(c);
        const key = `${c.via} ${c.target} ${c.family}${process.env.FUZZ_DEBUG_TIME === "path" && c.path ? ` ${c.method} ${c.path.split("?")[0].replace(/\d+/g, "N")}` : ""}`;
        stats.time.set(key, (stats.time.get(key) ?? 0) + Date.now() - began);
        if (o.progress && Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          log(`  … ${issued}/${total} (${Math.round((Date.now() - t0) / 1000)} s)`);
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    return issued;
  }

  let report = '';
  let sent = 0;
  let runSeconds = 0;
  const rss = { before: {}, peak: {}, after: {} };
  const cpu = { before: {}, after: {} };
  try {
    // Warm-up: valid traffic only (JIT, pools, id blocks), then the baseline RSS.
    await drive(createRng(o.seed ^ 0x5eed), o.warmup, 60, (c) => c.via === 'http' && ['send valid', 'read (session)', 'status'].includes(c.family));
    const warmStats = stats.requests;
    await sleep(2000);
    for (const [name, s] of Object.entries(children)) (rss.before[name] = rssKb(s.child.pid)), (rss.peak[name] = rss.before[name]), (cpu.before[name] = cpuSeconds(s.child.pid));
    const sampler = setInterval(() => {
      for (const [name, s] of Object.entries(children)) rss.peak[name] = Math.max(rss.peak[name] ?? 0, rssKb(s.child.pid) ?? 0);
    }, 500);
    stats.byTarget.clear();
    stats.byFamily.clear();
    stats.requests = 0;
    const started = Date.now();
    sent = await drive(createRng(o.seed), o.requests, o.seconds, null);
    runSeconds = (Date.now() - started) / 1000;
    clearInterval(sampler);
    for (const a of Object.values(agents)) a.destroy();
    // Idle, V8's memory reducer collects and shrinks the heap over several seconds: the lowest RSS
    // of the settle period is the level the process goes back to.
    for (const name of Object.keys(children)) rss.after[name] = Infinity;
    for (let waited = 0; waited < o.settleSeconds * 1000; waited += 1000) {
      await sleep(1000);
      for (const [name, s] of Object.entries(children)) rss.after[name] = Math.min(rss.after[name], rssKb(s.child.pid) ?? Infinity);
    }
    for (const [name, s] of Object.entries(children)) {
      if (!Number.isFinite(rss.after[name])) rss.after[name] = rssKb(s.child.pid);
      cpu.after[name] = cpuSeconds(s.child.pid);
    }
    void warmStats;

    // Alive and healthy.
    const health = {};
    for (const [name, s] of Object.entries(children)) {
      let status = 'exited';
      if (s.child.exitCode === null && s.child.signalCode === null) {
        try {
          status = String((await fetch(`${s.url}/health`, { signal: AbortSignal.timeout(10_000) })).status);
        } catch (e) {
          status = `no answer (${e.cause?.code || e.name})`;
        }
      } else status = `exited ${s.child.exitCode ?? s.child.signalCode}`;
      health[name] = status;
      if (status !== '200') failures.push(`${name}: ${status} at the end\n${s.output.join('').slice(-3000)}`);
    }

    // Stored rows against the OK answers.
    const { rows } = await pool.query('SELECT id::text AS id, msisdn, partner_msg_id AS "partnerMsgId", left(text, 60) AS text FROM message');
    const stored = new Set(rows.map((r) => r.id));
    // A raw connection the server closed (after a malformed request pipelined behind valid ones)
    // or that we left can lose answers of requests it had already accepted: those rows are
    // reported apart. Every other row must have been answered OK.
    const unanswered = rows.filter((r) => !okIds.has(r.id) && lostAnswers.has(r.partnerMsgId));
    const extra = rows.filter((r) => !okIds.has(r.id) && !lostAnswers.has(r.partnerMsgId));
    const missing = [...okIds].filter((id) => !stored.has(id));
    if (extra.length) failures.push(`${extra.length} stored message rows were not answered OK, e.g. ${JSON.stringify(extra.slice(0, 5))}`);
    if (missing.length) failures.push(`${missing.length} ids answered OK are not stored, e.g. ${missing.slice(0, 5).join(', ')}`);
    if (rows.length - unanswered.length !== okIds.size) failures.push(`message rows ${rows.length} (${unanswered.length} of them with lost answers) != distinct OK ids ${okIds.size}`);

    // Memory.
    const memory = [];
    for (const name of Object.keys(children)) {
      const b = rss.before[name];
      const a = rss.after[name];
      const grew = a != null && b != null ? (a - b) / 1024 : null;
      memory.push(`${name.padEnd(12)} RSS after warm-up ${(b / 1024).toFixed(0)} MiB, peak ${(rss.peak[name] / 1024).toFixed(0)} MiB, lowest in ${o.settleSeconds} s settle ${(a / 1024).toFixed(0)} MiB (${grew >= 0 ? '+' : ''}${grew?.toFixed(0)} MiB; tolerance +${o.rssToleranceMb} MiB); CPU ${(cpu.after[name] - cpu.before[name]).toFixed(1)} s`);
      if (grew === null) failures.push(`${name}: no RSS reading`);
      else if (grew > o.rssToleranceMb) failures.push(`${name}: RSS grew ${grew.toFixed(0)} MiB over the run (tolerance ${o.rssToleranceMb} MiB)`);
    }

    for (const [kind, u] of stats.unexpected) failures.push(`${u.n} × ${kind}`);
    // What the services logged as errors (their 500s say why there).
    const errorLines = Object.entries(children).flatMap(([name, s]) =>
      s.output.join('').split('\n').filter((l) => /"level":(50|60)|error/i.test(l)).slice(-5).map((l) => `${name}: ${truncate(l, 600)}`),
    );
    const unexpectedLog = ingress.output.join('').split('\n').filter((l) => l.includes('unexpected failure')).length;

    report = formatReport({ o, stats, sent, runSeconds, okIds, rows, unanswered, extra, missing, health, memory, relogins, unexpectedLog, failures, errorLines });
    log(report);
  } finally {
    for (const a of Object.values(agents)) a.destroy();
    await Promise.all(Object.values(children).map((s) => s.close()));
    await clearRedisPrefix(redis, o.redisPrefix).catch(() => undefined);
    await redis.quit();
    await pool.end();
    if (!o.keepDatabase) {
      const { adminQuery } = require(path.join(root, 'packages/db/dist/testing'));
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${o.database}" WITH (FORCE)`).catch(() => undefined);
    }
  }
  return { ok: failures.length === 0, failures, report, sent, okIds: okIds.size, unexpected: stats.unexpected };
}

function formatReport({ o, stats, sent, runSeconds, okIds, rows, unanswered, health, memory, relogins, unexpectedLog, failures, errorLines }) {
  const lines = [];
  const w = (s) => lines.push(s);
  const groups = ['2xx', '3xx', '4xx', '5xx', 'closed', 'reset', 'timeout', 'left mid-request', 'other'];
  const groupOf = (cls) => {
    const m = /^(\d)\d\d(?:\/(\d)\d\d)?$/.exec(cls);
    if (m) return `${m[2] ?? m[1]}xx`;
    return groups.includes(cls) ? cls : 'other';
  };
  w('');
  w(`fuzz: ${sent} requests in ${runSeconds.toFixed(1)} s (${Math.round(sent / runSeconds)}/s), seed ${o.seed}; xml/json ingress answers are classed by their protocol code (200/400 = HTTP 200, code 400)`);
  w('');
  const head = `${'target'.padEnd(26)}${'requests'.padStart(9)}${groups.map((g) => g.replace('left mid-request', 'left').padStart(8)).join('')}`;
  w(head);
  w('-'.repeat(head.length));
  const totals = new Map();
  for (const [target, m] of [...stats.byTarget].sort()) {
    const g = new Map();
    let n = 0;
    for (const [cls, k] of m) (n += k), g.set(groupOf(cls), (g.get(groupOf(cls)) ?? 0) + k);
    for (const [k, v] of g) totals.set(k, (totals.get(k) ?? 0) + v);
    totals.set('n', (totals.get('n') ?? 0) + n);
    w(`${target.padEnd(26)}${String(n).padStart(9)}${groups.map((x) => String(g.get(x) ?? 0).padStart(8)).join('')}`);
  }
  w('-'.repeat(head.length));
  w(`${'total'.padEnd(26)}${String(totals.get('n') ?? 0).padStart(9)}${groups.map((x) => String(totals.get(x) ?? 0).padStart(8)).join('')}`);
  w('');
  w('answers per target (status or HTTP/protocol code, or socket outcome: count):');
  for (const [target, m] of [...stats.byTarget].sort()) {
    w(`  ${target.padEnd(24)}${[...m].sort((a, b) => b[1] - a[1]).map(([c, k]) => `${c}:${k}`).join('  ')}`);
  }
  w('');
  w('requests per family:');
  for (const [fam, m] of [...stats.byFamily].sort()) {
    let n = 0;
    for (const k of m.values()) n += k;
    w(`  ${fam.padEnd(36)}${String(n).padStart(7)}   ${[...m].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([c, k]) => `${c}:${k}`).join('  ')}`);
  }
  if (process.env.FUZZ_DEBUG_TIME) for (const [k, v] of [...stats.time].sort((a, b) => b[1] - a[1])) w(`  time ${k}: ${(v / 1000).toFixed(1)} s`);
  w('');
  w(`OK answers from /send: ${okIds.size} distinct ids; message rows: ${rows.length}, of which ${unanswered.length} accepted on raw connections that closed before their answer was written (the server closed them on a malformed request pipelined behind)`);
  w(`portal sessions renewed after they ended (logout/password fuzz on the spare account): ${relogins}`);
  w(`ingress "unexpected failure" log lines: ${unexpectedLog}`);
  w(`health at the end: ${Object.entries(health).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const m of memory) w(m);
  w('');
  if (stats.unexpected.size) {
    w('unexpected answers (a few examples each):');
    for (const [kind, u] of stats.unexpected) {
      w(`  ${u.n} × ${kind}`);
      for (const e of u.examples) w(`      request:  ${e.request.replace(/\n/g, '\\n')}\n      response: ${e.response.replace(/\n/g, '\\n')}`);
    }
    w('');
  }
  if (failures.length && errorLines.length) w(`last error lines of the services:\n${errorLines.map((l) => `  ${l}`).join('\n')}\n`);
  w(failures.length ? `FAILED (${failures.length}):\n${failures.map((f) => `  - ${f}`).join('\n')}` : 'PASSED: no unexpected 5xx, no answer without a session, both processes healthy, stored rows = OK ids, memory within tolerance');
  return lines.join('\n');
}

module.exports = { runFuzz, parseResponses, okId, routedPath, withDatabase };
