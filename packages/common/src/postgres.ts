import { Logger } from '@nestjs/common';
import { Pool, type PoolClient } from 'pg';

/**
 * An idle PostgreSQL connection that breaks (server restart, failover, a dropped database)
 * emits 'error' on its pool; without a listener that would end the process. The pool replaces
 * the connection on the next query, so logging is all there is to do.
 */
export function logPoolErrors<P extends { on(event: 'error', listener: (e: Error) => void): unknown }>(pool: P, log: (message: string) => void): P {
  pool.on('error', (e) => log(`PostgreSQL connection lost: ${e.message}`));
  return pool;
}

/**
 * A service's PostgreSQL pool: named after the service (pg_stat_activity shows who holds what),
 * `max` connections, a 5 s limit on waiting for a new connection, broken idle ones logged.
 */
export function createServicePool(databaseUrl: string, max: number, applicationName: string): Pool {
  return logPoolErrors(
    new Pool({ connectionString: databaseUrl, max, application_name: applicationName, connectionTimeoutMillis: 5000 }),
    (m) => new Logger('PostgreSQL').error(m),
  );
}

/**
 * Runs `work` in one transaction on a connection of `pool`: committed when it returns, rolled back
 * when it throws (the error goes on to the caller), the connection given back either way.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
