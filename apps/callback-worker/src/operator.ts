// What other processes do with the callback worker's data, without running a worker: the admin
// CLI (`npm run admin -- callback resend`) and `dist/resend.js` import this module:
//   import { resendParkedCallbacks } from '@smsgw/callback-worker/dist/operator';
// It needs no callback-worker settings, only where PostgreSQL and Redis are.
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { QUEUES } from '@smsgw/contracts';
import { resendParked, type ResendResult, type ResendTarget } from './parking/resend-parked';

export type { ResendResult, ResendTarget } from './parking/resend-parked';

export interface OperatorConnection {
  databaseUrl: string;
  redisUrl: string;
  /** REDIS_PREFIX of the deployment: the queues the workers consume. */
  redisPrefix: string;
}

/** The connection settings as every service reads them (DATABASE_URL, REDIS_URL, REDIS_PREFIX), with the same defaults. */
export function operatorConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): OperatorConnection {
  return {
    databaseUrl: env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/smsgw',
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    redisPrefix: env.REDIS_PREFIX || 'smsgw',
  };
}

/**
 * Re-sends parked callbacks (all, a partner's, or the given ids): each goes back to pending with
 * a fresh retry horizon and gets a new job, which any running worker picks up. Redis is checked
 * first, so an unreachable Redis changes nothing; should the enqueue still fail after the rows
 * were updated, the workers' sweep queues those callbacks later.
 */
export async function resendParkedCallbacks(connection: OperatorConnection, target: ResendTarget = {}): Promise<ResendResult> {
  const redis = new Redis(connection.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => null });
  redis.on('error', () => undefined); // reported by connect() or the command that failed
  try {
    await redis.connect().catch((e: Error) => {
      throw new Error(`Redis not reachable at ${connection.redisUrl} (${e.message}); nothing was re-sent`);
    });
    const pool = new Pool({ connectionString: connection.databaseUrl, max: 1, connectionTimeoutMillis: 5000 });
    pool.on('error', () => undefined);
    const dlr = new Queue(QUEUES.CALLBACK_DLR, { prefix: connection.redisPrefix, connection: redis });
    const mo = new Queue(QUEUES.CALLBACK_MO, { prefix: connection.redisPrefix, connection: redis });
    try {
      return await resendParked(pool, { dlr, mo }, target);
    } finally {
      await Promise.allSettled([dlr.close(), mo.close()]);
      await pool.end().catch(() => undefined);
    }
  } finally {
    redis.disconnect();
  }
}
