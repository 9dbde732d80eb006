import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { createRedis, createServicePool, HEALTH_CHECKS, type HealthCheck, postgresDependency, redisDependency } from '@smsgw/common';
import { QUEUES } from '@smsgw/contracts';
import { Intake } from './intake.service';
import { LimitsService } from './limits.service';
import { MessageWriter } from './message-writer.service';
import { PartnerCache } from './partner-cache.service';
import { INTAKE_CONFIG, MT_DISPATCH_QUEUE, PG_POOL, REDIS, REDIS_SUBSCRIBER, type IntakeConfig } from './tokens';

/** The connection the dispatch queue adds jobs on (closed here: the queue does not own it). */
const QUEUE_CONNECTION = Symbol('QUEUE_CONNECTION');

/** Connections to PostgreSQL and Redis, made once per process, and the health checks on them. */
@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [INTAKE_CONFIG],
      useFactory: (cfg: IntakeConfig) => createServicePool(cfg.databaseUrl, cfg.dbPool, cfg.applicationName),
    },
    {
      provide: REDIS,
      inject: [INTAKE_CONFIG],
      useFactory: (cfg: IntakeConfig) => createRedis(cfg.redisUrl, 'client', { enableAutoPipelining: true }),
    },
    {
      provide: REDIS_SUBSCRIBER,
      inject: [INTAKE_CONFIG],
      // No ready check: its INFO is refused once the connection is in subscriber mode.
      useFactory: (cfg: IntakeConfig) => createRedis(cfg.redisUrl, 'blocking', { enableReadyCheck: false }),
    },
    {
      provide: QUEUE_CONNECTION,
      inject: [INTAKE_CONFIG],
      useFactory: (cfg: IntakeConfig) => createRedis(cfg.redisUrl, 'client', { enableAutoPipelining: true }),
    },
    {
      provide: MT_DISPATCH_QUEUE,
      inject: [INTAKE_CONFIG, QUEUE_CONNECTION],
      useFactory: (cfg: IntakeConfig, connection: Redis) => new Queue(QUEUES.MT_DISPATCH, { prefix: cfg.redisPrefix, connection }),
    },
    {
      provide: HEALTH_CHECKS,
      inject: [PG_POOL, REDIS, QUEUE_CONNECTION, REDIS_SUBSCRIBER, INTAKE_CONFIG],
      useFactory: (pool: Pool, redis: Redis, queueConnection: Redis, subscriber: Redis, cfg: IntakeConfig): HealthCheck[] => [
        postgresDependency(pool, cfg.databaseUrl),
        redisDependency([redis, queueConnection, subscriber], cfg.redisUrl),
      ],
    },
  ],
  exports: [PG_POOL, REDIS, REDIS_SUBSCRIBER, MT_DISPATCH_QUEUE, HEALTH_CHECKS],
})
class IntakeInfraModule implements OnApplicationShutdown {
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

/**
 * The intake of an app that takes partners' messages (the ingress, the SMPP server): its
 * connections, the partner settings in memory, the limits, the group-commit writer and `Intake`.
 * `config` is read from the app's own settings.
 */
@Global()
@Module({})
export class IntakeModule {
  static forRoot(config: IntakeConfig): DynamicModule {
    return {
      module: IntakeModule,
      imports: [IntakeInfraModule],
      providers: [{ provide: INTAKE_CONFIG, useValue: config }, PartnerCache, LimitsService, MessageWriter, Intake],
      exports: [INTAKE_CONFIG, IntakeInfraModule, PartnerCache, LimitsService, MessageWriter, Intake],
    };
  }
}
