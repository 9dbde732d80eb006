import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { createRedis, createServicePool, HEALTH_CHECKS, type HealthCheck, postgresDependency, redisDependency } from '@smsgw/common';
import { createPrismaClient, type PrismaClient } from '@smsgw/db';
import { PORTAL_CONFIG, type PortalConfig } from '../config';
import { Changes } from './changes.service';
import { PG_POOL, PRISMA, REDIS } from './tokens';

/** Connections to PostgreSQL and Redis, made once per process. */
@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [PORTAL_CONFIG],
      useFactory: (cfg: PortalConfig) =>
        createServicePool(cfg.DATABASE_URL, cfg.PORTAL_DB_POOL, 'portal'),
    },
    { provide: PRISMA, inject: [PORTAL_CONFIG], useFactory: (cfg: PortalConfig) => createPrismaClient(cfg.DATABASE_URL) },
    { provide: REDIS, inject: [PORTAL_CONFIG], useFactory: (cfg: PortalConfig) => createRedis(cfg.REDIS_URL, 'client') },
    Changes,
    {
      provide: HEALTH_CHECKS,
      inject: [PG_POOL, REDIS, PORTAL_CONFIG],
      useFactory: (pool: Pool, redis: Redis, cfg: PortalConfig): HealthCheck[] => [
        postgresDependency(pool, cfg.DATABASE_URL),
        redisDependency(redis, cfg.REDIS_URL),
      ],
    },
  ],
  exports: [PG_POOL, PRISMA, REDIS, HEALTH_CHECKS, Changes],
})
export class InfraModule implements OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
    await this.prisma.$disconnect().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
