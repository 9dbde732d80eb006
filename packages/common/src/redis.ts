import { Logger } from '@nestjs/common';
import Redis, { type RedisOptions } from 'ioredis';

export type RedisRole =
  /** commands on a request path: fail fast when Redis is down instead of queueing forever */
  | 'client'
  /** BullMQ workers and subscribers: block and retry forever */
  | 'blocking';

/**
 * ioredis 6 changed three defaults; the services keep ioredis 5's, which the outage tests and the
 * benches were measured with: the RESP2 wire protocol (6 sends HELLO 3 first), no TCP keep-alive
 * (6: 30 s) and a reconnect 50 ms × attempt apart, at most 2 s (6: doubling up to 5 s plus jitter,
 * which would let a service notice a Redis that is back up to 5 s later).
 */
const IOREDIS_5_DEFAULTS: RedisOptions = {
  protocol: 2,
  keepAlive: 0,
  retryStrategy: (times: number) => Math.min(times * 50, 2000),
};

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
  return logConnectionErrors(new Redis(url, { lazyConnect: false, ...IOREDIS_5_DEFAULTS, ...options, ...extra }));
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

