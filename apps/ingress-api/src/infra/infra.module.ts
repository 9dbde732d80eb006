import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { createRedis, createServicePool, HEALTH_CHECKS, type HealthCheck, postgresDependency, redisDependency } from '@smsgw/common';
import { QUEUES } from '@smsgw/contracts';
import { INGRESS_CONFIG, type IngressConfig } from '../config';
import { MT_DISPATCH_QUEUE, PG_POOL, REDIS, REDIS_SUBSCRIBER } from './tokens';

/** The connection the dispatch queue adds jobs on (closed here: the queue does not own it). */
const QUEUE_CONNECTION = Symbol('QUEUE_CONNECTION');

/** Connections to PostgreSQL and Redis, made once per process. */
@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [INGRESS_CONFIG],
      useFactory: (cfg: IngressConfig) =>
        createServicePool(cfg.DATABASE_URL, cfg.INGRESS_DB_POOL, 'ingress-api'),
    },
    {
      provide: REDIS,
      inject: [INGRESS_CONFIG],
      useFactory: (cfg: IngressConfig) => createRedis(cfg.REDIS_URL, 'client', { enableAutoPipelining: true }),
    },
    {
      provide: REDIS_SUBSCRIBER,
      inject: [INGRESS_CONFIG],
      // No ready check: its INFO is refused once the connection is in subscriber mode.
      useFactory: (cfg: IngressConfig) => createRedis(cfg.REDIS_URL, 'blocking', { enableReadyCheck: false }),
    },
    {
      provide: QUEUE_CONNECTION,
      inject: [INGRESS_CONFIG],
      useFactory: (cfg: IngressConfig) => createRedis(cfg.REDIS_URL, 'client', { enableAutoPipelining: true }),
    },
    {
      provide: MT_DISPATCH_QUEUE,
      inject: [INGRESS_CONFIG, QUEUE_CONNECTION],
      useFactory: (cfg: IngressConfig, connection: Redis) => new Queue(QUEUES.MT_DISPATCH, { prefix: cfg.REDIS_PREFIX, connection }),
    },
    {
      provide: HEALTH_CHECKS,
      inject: [PG_POOL, REDIS, QUEUE_CONNECTION, REDIS_SUBSCRIBER, INGRESS_CONFIG],
      useFactory: (pool: Pool, redis: Redis, queueConnection: Redis, subscriber: Redis, cfg: IngressConfig): HealthCheck[] => [
        postgresDependency(pool, cfg.DATABASE_URL),
        redisDependency([redis, queueConnection, subscriber], cfg.REDIS_URL),
      ],
    },
  ],
  exports: [PG_POOL, REDIS, REDIS_SUBSCRIBER, MT_DISPATCH_QUEUE, HEALTH_CHECKS],
})
export class InfraModule implements OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(QUEUE_CONNECTION) private readonly queueConnection: Redis,
    @Inject(MT_DISPATCH_QUEUE) private readonly queue: Queue,
  ) {}

  /** Runs after every provider's own shutdown hook, so pending writes are done by now. */
  async onApplicationShutdown(): Promise<void> {
    // The queue does not own the connection it was given: close both. (Not through queue.client,
    // which waits for a connection that may never come: a stop while Redis is down.)
    await this.queue.close().catch(() => undefined);
    this.queueConnection.disconnect();
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
