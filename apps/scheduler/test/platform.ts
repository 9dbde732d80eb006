// The other services, started in this process on a TestEnv's database and Redis prefix, for the
// tests that need the platform around the scheduler: the ingress (/send, /cancel), the SMPP
// connector with an SMSC simulator, the callback worker with a partner's HTTP endpoint.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { partnerChangedChannel, smscChangedChannel } from '@smsgw/contracts';
import { hashApiPassword } from '@smsgw/db';
import { createIngressApp } from '@smsgw/ingress-api/dist/bootstrap';
import { loadIngressConfig } from '@smsgw/ingress-api/dist/config';
import { startConnector, type RunningConnector } from '@smsgw/smsc-connector/dist/connector';
import { loadConnectorConfig } from '@smsgw/smsc-connector/dist/config';
import { startSimulator, type RunningSimulator } from '@smsgw/smsc-simulator/dist/index';
import { createCallbackWorkerApp } from '@smsgw/callback-worker/dist/bootstrap';
import { loadCallbackConfig } from '@smsgw/callback-worker/dist/config';
import { REDIS_URL, sleep, type TestEnv } from './harness';

export const PEPPER = 'scheduler-test-pepper';

export interface Ingress {
  port: number;
  close(): Promise<void>;
}

export async function startIngress(t: TestEnv): Promise<Ingress> {
  const config = loadIngressConfig({
    DATABASE_URL: t.db.url,
    REDIS_URL,
    REDIS_PREFIX: t.prefix,
    API_PASSWORD_PEPPER: PEPPER,
    INGRESS_PORT: '0',
    INGRESS_HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
  });
  const app: NestFastifyApplication = await createIngressApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.getHttpServer().address() as AddressInfo).port, close: () => app.close() };
}

export interface ApiPartner {
  id: number;
  login: string;
  password: string;
}

/** A partner that may call the ingress from 127.0.0.1, announced to running services. */
export async function createApiPartner(t: TestEnv, settings: { time_zone?: string; status_url?: string | null } = {}): Promise<ApiPartner> {
  const login = `api_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(9).toString('base64url');
  const { rows } = await t.pool.query<{ id: number }>(
    `INSERT INTO partner (login, api_password_hash, allowed_ips, senders, default_sender, rate_limit, postponed_enabled, postponed_horizon_days, time_zone, status_url)
     VALUES ($1, $2, '{127.0.0.1/32}', '{TEST}', 'TEST', 10000, true, 366, $3, $4) RETURNING id`,
    [login, hashApiPassword(password, PEPPER), settings.time_zone ?? 'UTC', settings.status_url ?? null],
  );
  await t.redis.publish(partnerChangedChannel(t.prefix), String(rows[0]!.id));
  await sleep(150);
  return { id: rows[0]!.id, login, password };
}

/** GET on the ingress; answers `{ status, body }`. */
export async function call(port: number, path: string, params: Record<string, string>): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}?${new URLSearchParams(params).toString()}`);
  return { status: res.status, body: await res.text() };
}

export interface Smpp {
  sim: RunningSimulator;
  connector: RunningConnector;
  close(): Promise<void>;
}

/** An SMSC simulator, a connection to it, and the connector (fast retries, as in its own tests). */
export async function startSmpp(t: TestEnv, opts: { tps?: number; dlrDelayMs?: number } = {}): Promise<Smpp> {
  const sim = await startSimulator({
    smppHost: '127.0.0.1',
    smppPort: 0,
    httpHost: '127.0.0.1',
    httpPort: 0,
    accounts: [{ systemId: 'smsgw', password: 'smsgw' }],
    dlrDelayMs: opts.dlrDelayMs ?? 30,
    recordLimit: 100_000,
  });
  const { rows } = await t.pool.query<{ id: number }>(
    `INSERT INTO smsc_connection (name, host, port, system_id, password, tps, "window") VALUES ($1, '127.0.0.1', $2, 'smsgw', 'smsgw', $3, 50) RETURNING id`,
    [`sim-${randomBytes(2).toString('hex')}`, sim.smppPort, opts.tps ?? 1000],
  );
  const connector = await startConnector(
    loadConnectorConfig({
      DATABASE_URL: t.db.url,
      REDIS_URL,
      REDIS_PREFIX: t.prefix,
      CONNECTOR_HTTP_PORT: '0',
      CONNECTOR_HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      CONNECTOR_CONCURRENCY: '20',
      CONNECTOR_RETRY_BASE_MS: '100',
      CONNECTOR_RETRY_MAX_MS: '800',
      CONNECTOR_RECONNECT_BASE_MS: '100',
      CONNECTOR_RECONNECT_MAX_MS: '400',
      CONNECTOR_SUBMIT_TIMEOUT_MS: '2000',
      CONNECTOR_SHUTDOWN_TIMEOUT_MS: '3000',
    }),
  );
  await t.redis.publish(smscChangedChannel(t.prefix), String(rows[0]!.id));
  return {
    sim,
    connector,
    async close() {
      await connector.close().catch(() => undefined);
      await sim.close({ unbind: false }).catch(() => undefined);
    },
  };
}

/** Destination numbers the simulator received a submit_sm for. */
export function submittedNumbers(sim: RunningSimulator): Set<string> {
  return new Set(sim.control.getSubmits(100_000).map((s) => s.destinationAddr));
}

export interface CallbackWorker {
  close(): Promise<void>;
}

export async function startCallbackWorker(t: TestEnv): Promise<CallbackWorker> {
  const config = loadCallbackConfig({
    DATABASE_URL: t.db.url,
    REDIS_URL,
    REDIS_PREFIX: t.prefix,
    CALLBACK_HTTP_PORT: '0',
    CALLBACK_HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    CALLBACK_TIMEOUT_MS: '1000',
    CALLBACK_RETRY_FIRST_MS: '200',
    CALLBACK_RETRY_MAX_MS: '1000',
    CALLBACK_LOCK_MS: '3000',
    CALLBACK_STALLED_INTERVAL_MS: '1000',
    CALLBACK_SWEEP_MS: '1000',
    CALLBACK_ALLOW_PRIVATE_TARGETS: 'true', // the partner's endpoint is on 127.0.0.1
  });
  const app = await createCallbackWorkerApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { close: () => app.close() };
}

/** A partner's status URL endpoint: answers 200 and remembers every report. */
export interface PartnerEndpoint {
  url: string;
  /** transactionId -> statuses reported, in order. */
  reports: Map<string, string[]>;
  close(): Promise<void>;
}

export async function startPartnerEndpoint(): Promise<PartnerEndpoint> {
  const reports = new Map<string, string[]>();
  const server = http.createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const id = q.get('transactionId');
    if (id) reports.set(id, [...(reports.get(id) ?? []), q.get('status') ?? '?']);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dlr`,
    reports,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
