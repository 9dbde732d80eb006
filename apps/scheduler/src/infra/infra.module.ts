import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { createRedis, createServicePool, HEALTH_CHECKS, type HealthCheck, postgresDependency, redisDependency } from '@smsgw/common';
import { QUEUES } from '@smsgw/contracts';
import { SCHEDULER_CONFIG, type SchedulerConfig } from '../config';
import { CALLBACK_DLR_QUEUE, CALLBACK_MO_QUEUE, MT_DISPATCH_QUEUE, PG_POOL, REDIS } from './tokens';

/** The one connection the producer-side queues share (they only add jobs). */
const QUEUE_CONNECTION = Symbol('QUEUE_CONNECTION');

const queue = (name: string, token: symbol) => ({
  provide: token,
  inject: [SCHEDULER_CONFIG, QUEUE_CONNECTION],
  useFactory: (cfg: SchedulerConfig, connection: Redis) => new Queue(name, { prefix: cfg.REDIS_PREFIX, connection }),
});

/** Connections to PostgreSQL and Redis, made once per process. */
@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [SCHEDULER_CONFIG],
      useFactory: (cfg: SchedulerConfig) =>
        createServicePool(cfg.DATABASE_URL, cfg.SCHEDULER_DB_POOL, 'scheduler'),
    },
    {
      provide: REDIS,
      inject: [SCHEDULER_CONFIG],
      useFactory: (cfg: SchedulerConfig) => createRedis(cfg.REDIS_URL, 'client', { enableAutoPipelining: true }),
    },
    {
      provide: QUEUE_CONNECTION,
      inject: [SCHEDULER_CONFIG],
      // Fail fast: a release whose jobs cannot be added rolls back and is tried again next time.
      useFactory: (cfg: SchedulerConfig) => createRedis(cfg.REDIS_URL, 'client', { commandTimeout: 30_000 }),
    },
    queue(QUEUES.MT_DISPATCH, MT_DISPATCH_QUEUE),
    queue(QUEUES.CALLBACK_DLR, CALLBACK_DLR_QUEUE),
    queue(QUEUES.CALLBACK_MO, CALLBACK_MO_QUEUE),
    {
      provide: HEALTH_CHECKS,
      inject: [PG_POOL, REDIS, QUEUE_CONNECTION, SCHEDULER_CONFIG],
      useFactory: (pool: Pool, redis: Redis, queueConnection: Redis, cfg: SchedulerConfig): HealthCheck[] => [
        postgresDependency(pool, cfg.DATABASE_URL),
        redisDependency([redis, queueConnection], cfg.REDIS_URL),
      ],
    },
  ],
  exports: [PG_POOL, REDIS, MT_DISPATCH_QUEUE, CALLBACK_DLR_QUEUE, CALLBACK_MO_QUEUE, HEALTH_CHECKS],
})
export class InfraModule implements OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(QUEUE_CONNECTION) private readonly queueConnection: Redis,
    @Inject(MT_DISPATCH_QUEUE) private readonly mtQueue: Queue,
    @Inject(CALLBACK_DLR_QUEUE) private readonly dlrQueue: Queue,
    @Inject(CALLBACK_MO_QUEUE) private readonly moQueue: Queue,
  ) {}

  /** The last hook: the tasks stopped in onModuleDestroy, so nothing uses these connections any more. */
  async onApplicationShutdown(): Promise<void> {
    for (const q of [this.mtQueue, this.dlrQueue, this.moQueue]) await q.close().catch(() => undefined);
    this.queueConnection.disconnect();
    await this.redis.quit().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
