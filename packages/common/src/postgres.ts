/**
 * An idle PostgreSQL connection that breaks (server restart, failover, a dropped database)
 * emits 'error' on its pool; without a listener that would end the process. The pool replaces
 * the connection on the next query, so logging is all there is to do.
 */
export function logPoolErrors<P extends { on(event: 'error', listener: (e: Error) => void): unknown }>(pool: P, log: (message: string) => void): P {
  pool.on('error', (e) => log(`PostgreSQL connection lost: ${e.message}`));
  return pool;
}
