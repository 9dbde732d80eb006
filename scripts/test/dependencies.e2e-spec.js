// Every service started before PostgreSQL or Redis answers: the built services (dist/main.js, as
// operators run them) reach the database or Redis through a TCP proxy of this test that first
// drops every connection (the network down, or the server not up yet) and then forwards them.
// Each service must stay up, answer /health with 503 naming what it waits for (not why: that is in
// its log), log that once (not at every retry), and start working within seconds of the proxy
// forwarding.
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { Queue } = require('bullmq');
const Redis = require('ioredis');
const { Pool } = require('pg');
const { root, freePort, clearRedisPrefix, stopChildren, waitFor, withDatabase } = require('../lib/services');

jest.setTimeout(90_000);

const { createTestDatabase, TcpProxy } = require(path.join(root, 'packages/db/dist/testing'));
const { hashApiPassword } = require(path.join(root, 'packages/db/dist'));
const { QUEUES, dlrJobOptions } = require(path.join(root, 'packages/contracts/dist'));

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const PEPPER = 'deps-pepper-0123456789';
const PARTNER = { login: 'deps', password: 'deps-api-password' };
/** Part of the DATABASE_URL the services get; it must never appear in what they print. */
const URL_PASSWORD = 'url-secret-4711';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The shared TcpProxy to `target`, down at first: it accepts and at once closes every connection. */
async function startProxy(target) {
  const proxy = await TcpProxy.start(target.port, target.host);
  proxy.down();
  return proxy;
}

/** GET on 127.0.0.1:port; `status: 0` when nothing answers. */
function get(port, target) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.setTimeout(5000, () => req.destroy());
  });
}

const APPS = {
  'ingress-api': (port) => ({ INGRESS_PORT: port, INGRESS_HOST: '127.0.0.1' }),
  'smsc-connector': (port) => ({ CONNECTOR_HTTP_PORT: port, CONNECTOR_HTTP_HOST: '127.0.0.1' }),
  'callback-worker': (port) => ({ CALLBACK_HTTP_PORT: port, CALLBACK_HTTP_HOST: '127.0.0.1', CALLBACK_ALLOW_PRIVATE_TARGETS: 'true' }),
  scheduler: (port) => ({ SCHEDULER_HTTP_PORT: port, SCHEDULER_HTTP_HOST: '127.0.0.1' }),
  portal: (port) => ({ PORTAL_PORT: port, PORTAL_HOST: '127.0.0.1', PORTAL_SECURE_COOKIES: 'false' }),
};

/** Starts apps/<name>/dist/main.js; its output is kept. */
async function startApp(name, env, children) {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'apps', name, 'dist', 'main.js')], {
    cwd: root,
    env: { ...process.env, API_PASSWORD_PEPPER: PEPPER, LOG_LEVEL: 'info', NODE_ENV: 'development', ...env, ...APPS[name](String(port)) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const app = { name, port, child, output: '' };
  child.stdout.on('data', (d) => (app.output += d));
  child.stderr.on('data', (d) => (app.output += d));
  return app;
}

/** Resolves with the answer once /health answers `status`; fails if the process exits or after `ms`. */
async function healthIs(app, status, ms) {
  const until = Date.now() + ms;
  let last = { status: 0, body: '' };
  for (;;) {
    if (app.child.exitCode !== null || app.child.signalCode !== null) {
      throw new Error(`${app.name} exited (${app.child.exitCode ?? app.child.signalCode}):\n${app.output.slice(-3000)}`);
    }
    last = await get(app.port, '/health');
    if (last.status === status) return JSON.parse(last.body);
    if (Date.now() > until) throw new Error(`${app.name}: /health not ${status} within ${ms / 1000} s (last: ${last.status} ${last.body})\n${app.output.slice(-3000)}`);
    await sleep(100);
  }
}

function lines(app, re) {
  return app.output.split('\n').filter((l) => re.test(l));
}

describe('services started before their dependencies', () => {
  let db;
  let pool;
  let redis;
  let pgProxy;
  let redisProxy;
  let partnerServer;
  const received = [];
  const children = [];
  const prefixes = [];
  let callbackPartnerId;

  beforeAll(async () => {
    for (const name of Object.keys(APPS)) {
      if (!require('node:fs').existsSync(path.join(root, 'apps', name, 'dist', 'main.js'))) throw new Error(`apps/${name}/dist is missing: run npm run build first`);
    }
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined);
    redis = new Redis(REDIS_URL);
    const pg = new URL(db.url);
    pgProxy = await startProxy({ host: pg.hostname || '127.0.0.1', port: Number(pg.port || 5432) });
    const r = new URL(REDIS_URL);
    redisProxy = await startProxy({ host: r.hostname || '127.0.0.1', port: Number(r.port || 6379) });

    partnerServer = http.createServer((req, res) => {
      received.push(new URL(req.url, 'http://x').searchParams);
      res.end('OK');
    });
    await new Promise((resolve) => partnerServer.listen(0, '127.0.0.1', resolve));

    await pool.query(
      `INSERT INTO partner (login, name, api_password_hash, allowed_ips, senders, default_sender, rate_limit)
       VALUES ($1, 'Deps', $2, ARRAY['127.0.0.1/32','::1/128'], ARRAY['DEPS'], 'DEPS', 1000)`,
      [PARTNER.login, hashApiPassword(PARTNER.password, PEPPER)],
    );
    const { rows } = await pool.query(`INSERT INTO partner (login, api_password_hash, status_url) VALUES ('deps-cb', 'x', $1) RETURNING id`, [
      `http://127.0.0.1:${partnerServer.address().port}/dlr`,
    ]);
    callbackPartnerId = rows[0].id;
  });

  afterAll(async () => {
    await stopChildren(children);
    await pgProxy?.close();
    await redisProxy?.close();
    partnerServer?.closeAllConnections();
    await new Promise((resolve) => (partnerServer ? partnerServer.close(resolve) : resolve()));
    await pool?.end();
    for (const p of prefixes) await clearRedisPrefix(redis, p);
    await redis?.quit();
    await db?.drop();
  });

  const newPrefix = () => {
    const p = `tdeps${process.pid}_${randomBytes(3).toString('hex')}`;
    prefixes.push(p);
    return p;
  };

  /** A stored, delivered message and its report queued for the callback worker. */
  async function queueReport(prefix) {
    const { rows } = await pool.query(
      `INSERT INTO message (id, partner_id, sender, msisdn, text, encoding, segments, status, valid_until, done_at, submitted_at)
       VALUES ((SELECT coalesce(max(id), 8000000000) + 1 FROM message), $1, 'DEPS', '79030000001', 'hello', 0, 1, 2, now() + interval '1 day', now(), now())
       RETURNING id::text`,
      [callbackPartnerId],
    );
    const messageId = rows[0].id;
    // A connection given to BullMQ is the caller's to close.
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUES.CALLBACK_DLR, { prefix, connection });
    await queue.add(QUEUES.CALLBACK_DLR, { messageId, partnerId: callbackPartnerId, status: 2 }, dlrJobOptions(messageId, 2));
    await queue.close();
    connection.disconnect();
    return messageId;
  }

  const send = (app, text) => get(app.port, `/send?serviceId=${PARTNER.login}&pass=${PARTNER.password}&clientId=79036550550&message=${encodeURIComponent(text)}`);

  async function stopped(apps) {
    const exits = apps.map((a) => new Promise((resolve) => (a.child.exitCode !== null || a.child.signalCode !== null ? resolve() : a.child.once('exit', resolve))));
    for (const a of apps) a.child.kill('SIGTERM');
    await Promise.all(exits);
    // A graceful stop ends "by SIGTERM" (Nest re-raises the signal after its shutdown hooks).
    return apps.map((a) => `${a.name}: ${a.child.exitCode ?? a.child.signalCode}`);
  }

  it('PostgreSQL late: every service waits, says so once, answers 503, then works', async () => {
    pgProxy.down();
    const prefix = newPrefix();
    const pg = new URL(db.url);
    const databaseUrl = withDatabase(`postgresql://postgres:${URL_PASSWORD}@127.0.0.1:${pgProxy.port}/x`, pg.pathname.slice(1));
    const apps = await Promise.all(Object.keys(APPS).map((name) => startApp(name, { DATABASE_URL: databaseUrl, REDIS_URL, REDIS_PREFIX: prefix }, children)));
    const [ingress, connector, worker, scheduler, portal] = apps;

    for (const app of apps) {
      const health = await healthIs(app, 503, 30_000);
      expect({ app: app.name, ...health }).toEqual({ app: app.name, status: 'starting', postgres: 'waiting', redis: 'ok' });
    }
    const refused = await send(ingress, 'too early');
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ statusCode: 503, error: 'Service Unavailable', message: 'starting: waiting for PostgreSQL' });
    expect((await get(portal.port, '/api/auth/me')).status).toBe(503);

    await sleep(2000); // several attempts (250 ms, 500 ms, 1 s, ...)
    for (const app of apps) {
      expect({ app: app.name, alive: app.child.exitCode === null && app.child.signalCode === null, health: (await get(app.port, '/health')).status }).toEqual({ app: app.name, alive: true, health: 503 });
    }

    pgProxy.up();
    // The connector is also ready only with an SMSC bound (it has no connection configured here).
    for (const app of apps) expect(await healthIs(app, 200, 15_000)).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok', ...(app.name === 'smsc-connector' ? { smsc: 'ok' } : {}) });

    // And they work.
    const accepted = await send(ingress, 'hello after the wait');
    expect(accepted.status).toBe(200);
    const id = /^OK\n(\d+)$/.exec(accepted.body)?.[1];
    expect(id).toBeDefined();
    expect((await pool.query('SELECT count(*)::int AS n FROM message WHERE id = $1', [id])).rows[0].n).toBe(1);
    const messageId = await queueReport(prefix);
    await waitFor('the report delivered', () => received.some((q) => q.get('transactionId') === messageId), 15_000);
    expect((await get(connector.port, '/connections')).status).toBe(200);
    expect((await get(portal.port, '/api/auth/me')).status).toBe(401);
    await waitFor('a release run', async () => /smsgw_scheduler_task_runs_total\{task="release",outcome="ok"\} [1-9]/.test((await get(scheduler.port, '/metrics')).body), 10_000);

    for (const app of apps) {
      const address = `127.0.0.1:${pgProxy.port}`;
      expect({ app: app.name, waiting: lines(app, new RegExp(`waiting for PostgreSQL at ${address.replace(/\./g, '\\.')} \\(`)).length }).toEqual({ app: app.name, waiting: 1 });
      expect({ app: app.name, answers: lines(app, new RegExp(`PostgreSQL at ${address.replace(/\./g, '\\.')} answers`)).length }).toEqual({ app: app.name, answers: 1 });
      expect(app.output).not.toContain(URL_PASSWORD);
      expect(app.output).not.toContain('Unhandled error event');
    }
    expect(worker.output).not.toMatch(/failed to start/);

    expect(await stopped(apps)).toEqual(apps.map((a) => `${a.name}: SIGTERM`));
  });

  it('Redis late: the ingress and the callback worker wait, then work', async () => {
    redisProxy.down();
    const prefix = newPrefix();
    const redisUrl = `redis://127.0.0.1:${redisProxy.port}`;
    const apps = await Promise.all(['ingress-api', 'callback-worker'].map((name) => startApp(name, { DATABASE_URL: db.url, REDIS_URL: redisUrl, REDIS_PREFIX: prefix }, children)));
    const [ingress] = apps;

    for (const app of apps) {
      const health = await healthIs(app, 503, 30_000);
      expect({ app: app.name, ...health }).toEqual({ app: app.name, status: 'starting', postgres: 'ok', redis: 'waiting' });
    }
    const refused = await send(ingress, 'too early');
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).message).toBe('starting: waiting for Redis');

    await sleep(2000);
    for (const app of apps) expect({ app: app.name, alive: app.child.exitCode === null && app.child.signalCode === null }).toEqual({ app: app.name, alive: true });

    redisProxy.up();
    // The connector is also ready only with an SMSC bound (it has no connection configured here).
    for (const app of apps) expect(await healthIs(app, 200, 15_000)).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok', ...(app.name === 'smsc-connector' ? { smsc: 'ok' } : {}) });

    const accepted = await send(ingress, 'hello after Redis');
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatch(/^OK\n\d+$/);
    const messageId = await queueReport(prefix);
    await waitFor('the report delivered', () => received.some((q) => q.get('transactionId') === messageId), 15_000);

    for (const app of apps) {
      expect({ app: app.name, waiting: lines(app, /waiting for Redis at 127\.0\.0\.1:\d+ \(/).length }).toEqual({ app: app.name, waiting: 1 });
      expect(app.output).not.toContain('Unhandled error event');
    }
    expect(await stopped(apps)).toEqual(apps.map((a) => `${a.name}: SIGTERM`));
  });
});
