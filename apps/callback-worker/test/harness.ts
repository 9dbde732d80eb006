import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Pool } from 'pg';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { dlrBatchJobOptions, dlrJobId, moJobId, parseJob, partnerChangedChannel, QUEUES, smscChangedChannel, type DeliveryReport } from '@smsgw/contracts';
import { loadConnectorConfig } from '@smsgw/smsc-connector/dist/config';
import { startConnector, type RunningConnector } from '@smsgw/smsc-connector/dist/connector';
import { startSimulator, type RunningSimulator } from '@smsgw/smsc-simulator/dist/index';
import { MessageIdAllocator } from '@smsgw/db';
import { createTestDatabase, type TestDatabase } from '@smsgw/db/dist/testing';
import { createCallbackWorkerApp } from '../src/bootstrap';
import { loadCallbackConfig, type CallbackConfig } from '../src/config';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Settings that make retries, breakers and lock take-over happen in test time. */
export const FAST: Record<string, string> = {
  CALLBACK_TIMEOUT_MS: '1000',
  CALLBACK_RETRY_FIRST_MS: '200',
  CALLBACK_RETRY_MAX_MS: '1000',
  CALLBACK_RETRY_HORIZON_MS: '60000',
  CALLBACK_BREAKER_OPEN_MS: '500',
  CALLBACK_BREAKER_MAX_OPEN_MS: '2000',
  CALLBACK_MO_DOWN_MS: '300',
  CALLBACK_LOCK_MS: '3000',
  CALLBACK_STALLED_INTERVAL_MS: '1000',
  CALLBACK_SWEEP_MS: '0',
  CALLBACK_DB_POOL: '6',
  CALLBACK_CONCURRENCY: '32',
  CALLBACK_MO_CONCURRENCY: '8',
};

/** A throw-away database and Redis prefix, with producer-side queues like the connector's. */
export interface TestEnv {
  db: TestDatabase;
  pool: Pool;
  redis: Redis;
  prefix: string;
  dlrQueue: Queue;
  moQueue: Queue;
  mtQueue: Queue;
  /** The environment a worker of this test runs with. */
  env(overrides?: Record<string, string>): Record<string, string>;
  startWorker(overrides?: Record<string, string>): Promise<Worker>;
  createPartner(settings?: PartnerSettings): Promise<number>;
  updatePartner(id: number, sql: string, params?: unknown[]): Promise<void>;
  insertMessages(partnerId: number, count: number, fields?: Partial<MessageFields>): Promise<string[]>;
  enqueueDlr(partnerId: number, messageIds: string[], status?: 0 | 2 | 5): Promise<void>;
  /** One batch job, as the connector queues reports; returns its job id. */
  enqueueDlrBatch(reports: DeliveryReport[]): Promise<string>;
  insertMo(partnerId: number, fields?: Partial<MoFields>): Promise<string>;
  enqueueMo(partnerId: number, moIds: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface Worker {
  app: NestFastifyApplication;
  config: CallbackConfig;
  port: number;
  close(): Promise<void>;
}

export interface PartnerSettings {
  status_url?: string | null;
  mo_url?: string | null;
  callback_param_names?: Record<string, string>;
  signing_secret?: string | null;
  intermediate_reports?: boolean;
  test_mode?: boolean;
  login?: string;
}

export interface MessageFields {
  status: number;
  ext_status: number | null;
  ptag: string | null;
  partner_msg_id: string | null;
  segments: number;
  done_at: Date | null;
  submitted_at: Date | null;
}

export interface MoFields {
  msisdn: string;
  service_number: string;
  text: string;
  segments: number;
  smsc_connection_id: number | null;
  received_at: Date;
}

let idCounter = 0;

export async function createTestEnv(): Promise<TestEnv> {
  const db = await createTestDatabase();
  const prefix = `cbt${process.pid}_${randomBytes(3).toString('hex')}`;
  const pool = new Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined); // the database is dropped at the end
  const redis = new Redis(REDIS_URL);
  const queue = (name: string) => new Queue(name, { prefix, connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }) });
  const dlrQueue = queue(QUEUES.CALLBACK_DLR);
  const moQueue = queue(QUEUES.CALLBACK_MO);
  const mtQueue = queue(QUEUES.MT_DISPATCH);
  const workers = new Set<Worker>();
  // Ids as production draws them (the hour's, in this week's partition), from the blocks the
  // worker draws its reply messages' from too: never the same.
  const messageIds = new MessageIdAllocator(pool);

  const env = (overrides: Record<string, string> = {}) => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    CALLBACK_HTTP_PORT: '0',
    CALLBACK_HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Partners here are servers on 127.0.0.1; the test of the policy turns it off.
    CALLBACK_ALLOW_PRIVATE_TARGETS: 'true',
    ...FAST,
    ...overrides,
  });

  return {
    db,
    pool,
    redis,
    prefix,
    dlrQueue,
    moQueue,
    mtQueue,
    env,
    async startWorker(overrides = {}) {
      const config = loadCallbackConfig(env(overrides));
      const app = await createCallbackWorkerApp(config);
      await app.listen({ port: 0, host: '127.0.0.1' });
      const port = (app.getHttpServer().address() as AddressInfo).port;
      const worker: Worker = {
        app,
        config,
        port,
        async close() {
          workers.delete(worker);
          await app.close();
        },
      };
      workers.add(worker);
      return worker;
    },
    async createPartner(s = {}) {
      const { rows } = await pool.query<{ id: number }>(
        `INSERT INTO partner (login, api_password_hash, status_url, mo_url, callback_param_names, signing_secret, intermediate_reports, test_mode)
         VALUES ($1, 'x', $2, $3, $4, $5, $6, $7) RETURNING id`,
        [
          s.login ?? `cb${++idCounter}_${randomBytes(2).toString('hex')}`,
          s.status_url ?? null,
          s.mo_url ?? null,
          JSON.stringify(s.callback_param_names ?? {}),
          s.signing_secret ?? null,
          s.intermediate_reports ?? false,
          s.test_mode ?? false,
        ],
      );
      return rows[0]!.id;
    },
    async updatePartner(id, sql, params = []) {
      await pool.query(`UPDATE partner SET ${sql}, updated_at = now() WHERE id = ${Number(id)}`, params);
      await redis.publish(partnerChangedChannel(prefix), String(id));
      await sleep(100);
    },
    async insertMessages(partnerId, count, f = {}) {
      const ids = await messageIds.take(count);
      await pool.query(
        `INSERT INTO message (id, partner_id, partner_msg_id, ptag, sender, msisdn, text, encoding, segments, status, ext_status, valid_until, done_at, submitted_at)
         SELECT id, $2, $3, $4, 'TEST', '79030000001', 'hello', 0, $5, $6, $7, now() + interval '1 day', $8, $9 FROM unnest($1::bigint[]) AS id`,
        [ids, partnerId, f.partner_msg_id ?? null, f.ptag ?? null, f.segments ?? 1, f.status ?? 2, f.ext_status ?? null, f.done_at === undefined ? new Date() : f.done_at, f.submitted_at ?? new Date()],
      );
      return ids;
    },
    async enqueueDlr(partnerId, messageIds, status = 2) {
      await dlrQueue.addBulk(
        messageIds.map((messageId) => ({
          name: QUEUES.CALLBACK_DLR,
          data: { messageId, partnerId, status },
          opts: { jobId: dlrJobId(messageId, status), removeOnComplete: true, removeOnFail: 10_000 },
        })),
      );
    },
    async enqueueDlrBatch(reports) {
      const job = await dlrQueue.add(QUEUES.CALLBACK_DLR, parseJob(QUEUES.CALLBACK_DLR, { reports }), dlrBatchJobOptions());
      return String(job.id);
    },
    async insertMo(partnerId, f = {}) {
      const { rows } = await pool.query<{ id: string }>(
        `INSERT INTO mo_message (partner_id, msisdn, service_number, text, segments, smsc_connection_id, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id::text`,
        [partnerId, f.msisdn ?? '79031112233', f.service_number ?? '4545', f.text ?? 'hi', f.segments ?? 1, f.smsc_connection_id ?? null, f.received_at ?? new Date()],
      );
      return rows[0]!.id;
    },
    async enqueueMo(partnerId, moIds) {
      await moQueue.addBulk(
        moIds.map((moId) => ({ name: QUEUES.CALLBACK_MO, data: { moId, partnerId }, opts: { jobId: moJobId(moId), removeOnComplete: true, removeOnFail: 10_000 } })),
      );
    },
    async close() {
      for (const w of [...workers]) await w.close();
      for (const q of [dlrQueue, moQueue, mtQueue]) {
        const c = await q.getBackend().client;
        await q.close();
        c.disconnect();
      }
      await pool.end();
      const keys = await redis.keys(`${prefix}:*`);
      for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
      await redis.quit();
      await db.drop();
    },
  };
}

/** What a partner's endpoint received. */
export interface Received {
  path: string;
  /** The request target exactly as received (what the signature covers). */
  url: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  at: number;
  /** When the answer was sent (undefined while it is pending). */
  answeredAt?: number;
}

export interface Answer {
  status?: number;
  body?: string;
  contentType?: string;
  /** Answer after this long. */
  delayMs?: number;
}

/** A partner's HTTP endpoint on 127.0.0.1 (random port), recording every request. */
export interface PartnerServer {
  port: number;
  url(path?: string): string;
  received: Received[];
  /** Requests being answered right now, and the most seen at once. */
  inFlight: number;
  maxInFlight: number;
  answer: (r: Received) => Answer;
  close(): Promise<void>;
}

export async function startPartnerServer(answer: (r: Received) => Answer = () => ({ status: 200, body: 'OK' })): Promise<PartnerServer> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const r: Received = { path: u.pathname, url: req.url ?? '/', query: u.searchParams, headers: req.headers, at: Date.now() };
    state.received.push(r);
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    const a = state.answer(r);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      state.inFlight--;
    };
    res.on('close', finish);
    const send = () => {
      if (res.destroyed) return finish();
      r.answeredAt = Date.now();
      res.writeHead(a.status ?? 200, { 'content-type': a.contentType ?? 'text/plain; charset=utf-8' });
      res.end(a.body ?? '');
      finish();
    };
    if (a.delayMs) {
      const t = setTimeout(() => {
        timers.delete(t);
        send();
      }, a.delayMs);
      timers.add(t);
    } else send();
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const state: PartnerServer = {
    port,
    url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    received: [],
    inFlight: 0,
    maxInFlight: 0,
    answer,
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return state;
}

/** A port nothing listens on (connection refused). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `check` returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 10_000, everyMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface AttemptRow {
  attempt: number;
  http_status: number | null;
  error: string | null;
  url: string;
  duration_ms: number;
  attempted_at: Date;
}

export async function attemptsOf(pool: Pool, where: { messageId?: string; moId?: string }): Promise<AttemptRow[]> {
  const { rows } = await pool.query<AttemptRow>(
    `SELECT attempt, http_status, error, url, duration_ms, attempted_at FROM callback_attempt
     WHERE ${where.messageId ? 'message_id' : 'mo_id'} = $1 ORDER BY id`,
    [where.messageId ?? where.moId],
  );
  return rows;
}

/** How many of these messages' reports the partner acknowledged (a 2xx attempt). */
export async function acknowledgedCount(pool: Pool, messageIds: string[]): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT count(DISTINCT message_id) AS n FROM callback_attempt WHERE message_id = ANY($1::bigint[]) AND http_status BETWEEN 200 AND 299',
    [messageIds],
  );
  return Number(rows[0]!.n);
}

/** The `callback` row of a report or MO: only those that failed at least once have one. */
export async function callbackOf(pool: Pool, where: { messageId?: string; moId?: string }): Promise<{ id: string; state: string; attempts: number; last_result: string | null } | undefined> {
  const { rows } = await pool.query<{ id: string; state: string; attempts: number; last_result: string | null }>(
    `SELECT id::text, state::text, attempts, last_result FROM callback WHERE ${where.messageId ? 'message_id' : 'mo_id'} = $1`,
    [where.messageId ?? where.moId],
  );
  return rows[0];
}

/**
 * The real SMS path in front of the worker: an SMSC simulator, and the SMPP connector bound to it
 * through an smsc_connection row, on the test's database and Redis prefix. `serviceNumber` is
 * given to `partnerId`, so MO injected to it are that partner's.
 */
export async function startSmscPath(
  t: TestEnv,
  partnerId: number,
  serviceNumber: string,
  connectorEnv: Record<string, string> = {},
): Promise<{ sim: RunningSimulator; connector: RunningConnector }> {
  const sim = await startSimulator({ smppHost: '127.0.0.1', httpHost: '127.0.0.1', accounts: [{ systemId: 'smsgw', password: 'smsgw' }], dlrDelayMs: 30 });
  await t.pool.query('INSERT INTO service_number (number, partner_id) VALUES ($1, $2)', [serviceNumber, partnerId]);
  const { rows } = await t.pool.query<{ id: number }>(
    `INSERT INTO smsc_connection (name, host, port, system_id, password, bind_mode, tps, "window") VALUES ('sim', '127.0.0.1', $1, 'smsgw', 'smsgw', 'transceiver', 1000, 50) RETURNING id`,
    [sim.smppPort],
  );
  const connector = await startConnector(
    loadConnectorConfig({
      DATABASE_URL: t.db.url,
      REDIS_URL,
      REDIS_PREFIX: t.prefix,
      CONNECTOR_HTTP_PORT: '0',
      CONNECTOR_HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      CONNECTOR_RECONNECT_BASE_MS: '100',
      CONNECTOR_RECONNECT_MAX_MS: '400',
      CONNECTOR_SHUTDOWN_TIMEOUT_MS: '3000',
      ...connectorEnv,
    }),
  );
  await t.redis.publish(smscChangedChannel(t.prefix), String(rows[0]!.id));
  await waitFor('the connector bound to the simulator', () => sim.control.getCounters().binds.transceiver === 1, 30_000);
  return { sim, connector };
}
