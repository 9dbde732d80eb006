import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Startup } from '@smsgw/common';
import { refuseDevelopmentSecrets } from '@smsgw/db';
import { PORTAL_CONFIG, type PortalConfig } from './config';

/**
 * The portal's start: once PostgreSQL and Redis answer (Startup; until then every request but
 * /health and /metrics is answered 503), refuse seeded portal passwords in production.
 */
@Injectable()
export class PortalLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @Inject(PORTAL_CONFIG) private readonly config: PortalConfig,
    private readonly startup: Startup,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.startup.begin(async () => {
      const c = this.config;
      await refuseDevelopmentSecrets({ nodeEnv: c.NODE_ENV, pepper: c.API_PASSWORD_PEPPER, databaseUrl: c.DATABASE_URL, portalUsers: true });
    });
  }

  onModuleDestroy(): Promise<void> {
    return this.startup.stop();
  }
}
