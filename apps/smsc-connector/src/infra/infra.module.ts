import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { createRedis, createServicePool, HEALTH_CHECKS, type HealthCheck, postgresDependency, redisDependency } from '@smsgw/common';
import { QUEUES } from '@smsgw/contracts';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { CALLBACK_DLR_QUEUE, CALLBACK_MO_QUEUE, MT_DISPATCH_QUEUE, PG_POOL, REDIS_SUBSCRIBER, TEST_OUTCOME_QUEUE } from './tokens';

/** The Redis connection the producer queues share (adding jobs needs no blocking commands). */
const QUEUE_CONNECTION = Symbol('QUEUE_CONNECTION');

const queueProvider = (token: symbol, name: string) => ({
  provide: token,
  inject: [CONNECTOR_CONFIG, QUEUE_CONNECTION],
  useFactory: (cfg: ConnectorConfig, connection: Redis) => new Queue(name, { prefix: cfg.REDIS_PREFIX, connection }),
});

/** Connections to PostgreSQL and Redis, made once per process and closed last. */
@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [CONNECTOR_CONFIG],
      useFactory: (cfg: ConnectorConfig) =>
        createServicePool(cfg.DATABASE_URL, cfg.CONNECTOR_DB_POOL, 'smsc-connector'),
    },
    {
      provide: REDIS_SUBSCRIBER,
      inject: [CONNECTOR_CONFIG],
      // No ready check: its INFO is refused once the connection is in subscriber mode.
      useFactory: (cfg: ConnectorConfig) => createRedis(cfg.REDIS_URL, 'blocking', { enableReadyCheck: false }),
    },
    {
      provide: QUEUE_CONNECTION,
      inject: [CONNECTOR_CONFIG],
      // Fail fast: a receipt whose callback cannot be queued is answered with a temporary error and
      // comes again, rather than holding the SMSC's window while Redis is away.
      useFactory: (cfg: ConnectorConfig) => createRedis(cfg.REDIS_URL, 'client', { enableAutoPipelining: true }),
    },
    queueProvider(CALLBACK_DLR_QUEUE, QUEUES.CALLBACK_DLR),
    queueProvider(CALLBACK_MO_QUEUE, QUEUES.CALLBACK_MO),
    queueProvider(TEST_OUTCOME_QUEUE, QUEUES.MT_TEST_OUTCOME),
    queueProvider(MT_DISPATCH_QUEUE, QUEUES.MT_DISPATCH),
    {
      provide: HEALTH_CHECKS,
      inject: [PG_POOL, QUEUE_CONNECTION, REDIS_SUBSCRIBER, CONNECTOR_CONFIG],
      useFactory: (pool: Pool, queueConnection: Redis, subscriber: Redis, cfg: ConnectorConfig): HealthCheck[] => [
        postgresDependency(pool, cfg.DATABASE_URL),
        redisDependency([queueConnection, subscriber], cfg.REDIS_URL),
      ],
    },
  ],
  exports: [PG_POOL, REDIS_SUBSCRIBER, CALLBACK_DLR_QUEUE, CALLBACK_MO_QUEUE, TEST_OUTCOME_QUEUE, MT_DISPATCH_QUEUE, HEALTH_CHECKS],
})
export class InfraModule implements OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(QUEUE_CONNECTION) private readonly queueConnection: Redis,
    @Inject(CALLBACK_DLR_QUEUE) private readonly dlrQueue: Queue,
    @Inject(CALLBACK_MO_QUEUE) private readonly moQueue: Queue,
    @Inject(TEST_OUTCOME_QUEUE) private readonly testOutcomeQueue: Queue,
    @Inject(MT_DISPATCH_QUEUE) private readonly dispatchQueue: Queue,
  ) {}

  /** Runs after the lifecycle's beforeApplicationShutdown: workers and SMSC sessions are closed by now. */
  async onApplicationShutdown(): Promise<void> {
    // Queues do not own the connection they were given: close it after them.
    await Promise.all([this.dlrQueue, this.moQueue, this.testOutcomeQueue, this.dispatchQueue].map((q) => q.close().catch(() => undefined)));
    await this.queueConnection.quit().catch(() => undefined);
    this.subscriber.disconnect();
    await this.pool.end().catch(() => undefined);
  }
}
