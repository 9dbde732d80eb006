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
  const { client, release } = await checkOut(pool);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    release();
  }
}

/**
 * A connection of `pool` held across several statements. A connection lost while held between two
 * statements (the server stopped or restarted) is reported as an 'error' event on the client,
 * which, without a listener, ends the process; here it is kept, the next statement fails with it,
 * and `release` drops the connection instead of giving it back to the pool.
 */
export async function checkOut(pool: Pool): Promise<{ client: PoolClient; release: () => void }> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (e: Error): void => {
    lost = e;
  };
  client.on('error', onError);
  let released = false;
  return {
    client,
    release: () => {
      if (released) return;
      released = true;
      client.removeListener('error', onError);
      client.release(lost);
    },
  };
}

/**
 * A row for a table partitioned by day (callback_attempt) beyond its last partition: reported as a
 * check violation (23514), but the row is right and the partition missing (the scheduler's
 * `partitions` task keeps them ahead); it goes in once the partition exists.
 */
export function isMissingPartition(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  return err?.code === '23514' && typeof err.message === 'string' && err.message.startsWith('no partition of relation');
}

/**
 * A PostgreSQL error about the data or the statement itself (SQLSTATE classes 22 data exception,
 * 23 integrity constraint violation, 42 syntax error or access rule violation): trying the same
 * again fails the same way. Anything else (the server unreachable, starting, shutting down, out of
 * connections, a deadlock, a partition not created yet) may pass on a later try.
 */
export function isStatementRefused(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|42)[0-9A-Z]{3}$/.test(code) && !isMissingPartition(e);
}

/** The database a connection URL names, as a safe file name (journal directories are per database). */
export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}
