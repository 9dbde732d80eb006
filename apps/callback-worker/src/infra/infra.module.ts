import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { createRedis, createServicePool, HEALTH_CHECKS, type HealthCheck, postgresDependency, redisDependency } from '@smsgw/common';
import { QUEUES } from '@smsgw/contracts';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { CALLBACK_DLR_QUEUE, CALLBACK_MO_QUEUE, MT_DISPATCH_QUEUE, PG_POOL, REDIS, REDIS_SUBSCRIBER } from './tokens';

/** The one connection the producer-side queues share (they only add jobs). */
const QUEUE_CONNECTION = Symbol('QUEUE_CONNECTION');

const queue = (name: string, token: symbol) => ({
  provide: token,
  inject: [CALLBACK_CONFIG, QUEUE_CONNECTION],
  useFactory: (cfg: CallbackConfig, connection: Redis) => new Queue(name, { prefix: cfg.REDIS_PREFIX, connection }),
});

/** Connections to PostgreSQL and Redis, made once per process. */
@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [CALLBACK_CONFIG],
      useFactory: (cfg: CallbackConfig) =>
        createServicePool(cfg.DATABASE_URL, cfg.CALLBACK_DB_POOL, 'callback-worker'),
    },
    {
      provide: REDIS,
      inject: [CALLBACK_CONFIG],
      useFactory: (cfg: CallbackConfig) => createRedis(cfg.REDIS_URL, 'client', { enableAutoPipelining: true }),
    },
    {
      provide: REDIS_SUBSCRIBER,
      inject: [CALLBACK_CONFIG],
      // No ready check: its INFO is refused once the connection is in subscriber mode.
      useFactory: (cfg: CallbackConfig) => createRedis(cfg.REDIS_URL, 'blocking', { enableReadyCheck: false }),
    },
    {
      provide: QUEUE_CONNECTION,
      inject: [CALLBACK_CONFIG],
      useFactory: (cfg: CallbackConfig) => createRedis(cfg.REDIS_URL, 'client', { enableAutoPipelining: true }),
    },
    queue(QUEUES.MT_DISPATCH, MT_DISPATCH_QUEUE),
    queue(QUEUES.CALLBACK_DLR, CALLBACK_DLR_QUEUE),
    queue(QUEUES.CALLBACK_MO, CALLBACK_MO_QUEUE),
    {
      provide: HEALTH_CHECKS,
      inject: [PG_POOL, REDIS, QUEUE_CONNECTION, REDIS_SUBSCRIBER, CALLBACK_CONFIG],
      useFactory: (pool: Pool, redis: Redis, queueConnection: Redis, subscriber: Redis, cfg: CallbackConfig): HealthCheck[] => [
        postgresDependency(pool, cfg.DATABASE_URL),
        redisDependency([redis, queueConnection, subscriber], cfg.REDIS_URL),
      ],
    },
  ],
  exports: [PG_POOL, REDIS, REDIS_SUBSCRIBER, MT_DISPATCH_QUEUE, CALLBACK_DLR_QUEUE, CALLBACK_MO_QUEUE, HEALTH_CHECKS],
})
export class InfraModule implements OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(QUEUE_CONNECTION) private readonly queueConnection: Redis,
    @Inject(MT_DISPATCH_QUEUE) private readonly mtQueue: Queue,
    @Inject(CALLBACK_DLR_QUEUE) private readonly dlrQueue: Queue,
    @Inject(CALLBACK_MO_QUEUE) private readonly moQueue: Queue,
  ) {}

  /**
   * The last hook: the workers stopped in onModuleDestroy and the attempt log was flushed in
   * beforeApplicationShutdown, so nothing uses these connections any more.
   */
  async onApplicationShutdown(): Promise<void> {
    for (const q of [this.mtQueue, this.dlrQueue, this.moQueue]) await q.close().catch(() => undefined);
    this.queueConnection.disconnect();
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
