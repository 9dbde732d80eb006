import type { Pool, PoolClient } from 'pg';
import { checkOut } from '@smsgw/common';

/**
 * Runs `fn` on a connection that holds the session advisory lock `name` (one instance at a time
 * for tasks whose work must not overlap), and gives the lock back after; null, without running
 * `fn`, while another connection holds it.
 */
export async function underAdvisoryLock<T>(pool: Pool, name: string, fn: (client: PoolClient) => Promise<T>): Promise<T | null> {
  const { client, release } = await checkOut(pool);
  try {
    const { rows: [lock] } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS got', [name]);
    if (!lock?.got) return null;
    try {
      return await fn(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
    }
  } finally {
    release();
  }
}
