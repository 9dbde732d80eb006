import { Logger } from '@nestjs/common';
import Redis, { type RedisOptions } from 'ioredis';

export type RedisRole =
  /** commands on a request path: fail fast when Redis is down instead of queueing forever */
  | 'client'
  /** BullMQ workers and subscribers: block and retry forever */
  | 'blocking';

/**
 * The one place Redis connections are made. ioredis reconnects by itself; a lost connection is
 * logged once per outage (not at every reconnect attempt, and not before it was first ready: a
 * service starting without Redis says so once, see Startup).
 */
export function createRedis(url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const options: RedisOptions =
    role === 'blocking'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, commandTimeout: 2000 };
  return logConnectionErrors(new Redis(url, { lazyConnect: false, ...options, ...extra }));
}

function logConnectionErrors(redis: Redis): Redis {
  let state: 'never-ready' | 'ready' | 'lost' = 'never-ready';
  redis.on('ready', () => {
    if (state === 'lost') new Logger('Redis').log('Redis connection back');
    state = 'ready';
  });
  redis.on('error', (e: Error) => {
    if (state !== 'ready') return;
    state = 'lost';
    new Logger('Redis').warn(`Redis connection lost: ${e.message}; reconnecting`);
  });
  return redis;
}

/** Resolves when the connection is ready, rejects with a clear message if it is not within `ms`. */
export async function waitForRedis(redis: Redis, ms = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not reachable within ${ms} ms`));
    }, ms);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

