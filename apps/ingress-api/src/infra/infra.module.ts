import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { createRedis, createServicePool, HEALTH_CHECKS, type HealthCheck } from '@smsgw/common';
import { QUEUES } from '@smsgw/contracts';
import { INGRESS_CONFIG, type IngressConfig } from '../config';
import { MT_DISPATCH_QUEUE, PG_POOL, REDIS, REDIS_SUBSCRIBER } from './tokens';

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
      provide: MT_DISPATCH_QUEUE,
      inject: [INGRESS_CONFIG],
      useFactory: (cfg: IngressConfig) =>
        new Queue(QUEUES.MT_DISPATCH, {
          prefix: cfg.REDIS_PREFIX,
          connection: createRedis(cfg.REDIS_URL, 'client', { enableAutoPipelining: true }),
        }),
    },
    {
      provide: HEALTH_CHECKS,
      inject: [PG_POOL, REDIS],
      useFactory: (pool: Pool, redis: Redis): HealthCheck[] => [
        { name: 'postgres', check: async () => void (await pool.query('SELECT 1')) },
        { name: 'redis', check: async () => void (await redis.ping()) },
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
    @Inject(MT_DISPATCH_QUEUE) private readonly queue: Queue,
  ) {}

  /** Runs after every provider's own shutdown hook, so pending writes are done by now. */
  async onApplicationShutdown(): Promise<void> {
    // The queue does not own the connection it was given: close both.
    const queueConnection = await this.queue.client.catch(() => null);
    await this.queue.close().catch(() => undefined);
    queueConnection?.disconnect();
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
