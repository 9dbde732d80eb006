// The services around the SMPP server for the tests of reports and MO over the bind, started in
// this process on the test server's database and Redis prefix: an SMSC simulator with the
// connector bound to it, and the callback worker.
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { smscChangedChannel } from '@smsgw/contracts';
import { createCallbackWorkerApp } from '@smsgw/callback-worker/dist/bootstrap';
import { loadCallbackConfig } from '@smsgw/callback-worker/dist/config';
import { startConnector } from '@smsgw/smsc-connector/dist/connector';
import { loadConnectorConfig } from '@smsgw/smsc-connector/dist/config';
import { startSimulator, type RunningSimulator } from '@smsgw/smsc-simulator/dist/index';
import { REDIS_URL, type TestSmppServer } from './harness';

export interface Platform {
  sim: RunningSimulator;
  close(): Promise<void>;
}

/** `worker` overrides the callback worker's settings. */
export async function startPlatform(t: TestSmppServer, worker: Record<string, string> = {}): Promise<Platform> {
  const sim = await startSimulator({ smppHost: '127.0.0.1', smppPort: 0, httpHost: '127.0.0.1', httpPort: 0, accounts: [{ systemId: 'smsgw', password: 'smsgw' }], dlrDelayMs: 30, recordLimit: 10_000 });
  const { rows } = await t.pool.query<{ id: number }>(
    `INSERT INTO smsc_connection (name, host, port, system_id, password, tps, "window") VALUES ($1, '127.0.0.1', $2, 'smsgw', 'smsgw', 1000, 50) RETURNING id`,
    [`sim-${randomBytes(2).toString('hex')}`, sim.smppPort],
  );
  const env = { DATABASE_URL: t.dbUrl, REDIS_URL, REDIS_PREFIX: t.prefix, LOG_LEVEL: 'silent' };
  const connector = await startConnector(
    loadConnectorConfig({ ...env, CONNECTOR_HTTP_PORT: '0', CONNECTOR_HTTP_HOST: '127.0.0.1', CONNECTOR_RECONNECT_BASE_MS: '100', CONNECTOR_RECONNECT_MAX_MS: '400', CONNECTOR_SHUTDOWN_TIMEOUT_MS: '3000' }),
  );
  const redis = new Redis(REDIS_URL);
  await redis.publish(smscChangedChannel(t.prefix), String(rows[0]!.id));
  redis.disconnect();
  const app = await createCallbackWorkerApp(
    loadCallbackConfig({ ...env, CALLBACK_HTTP_PORT: '0', CALLBACK_HTTP_HOST: '127.0.0.1', CALLBACK_TIMEOUT_MS: '2000', CALLBACK_LOCK_MS: '3000', CALLBACK_STALLED_INTERVAL_MS: '1000', ...worker }),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    sim,
    async close() {
      await app.close().catch(() => undefined);
      await connector.close().catch(() => undefined);
      await sim.close({ unbind: false }).catch(() => undefined);
    },
  };
}
