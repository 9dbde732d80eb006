import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Startup } from '@smsgw/common';
import { refuseDevelopmentSecrets } from '@smsgw/db';
import { PartnerCache } from '@smsgw/intake';
import { INGRESS_CONFIG, type IngressConfig } from './config';

/**
 * Start and stop order in one place. Start: once PostgreSQL and Redis answer (Startup; until then
 * every partner request is answered 503), refuse seeded partner passwords in production, load the
 * partners and follow their changes. Stop: no more waiting; the rest stops in the services' own
 * hooks (SIGTERM: see docs/operator-guide.md, section 15).
 */
@Injectable()
export class IngressLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @Inject(INGRESS_CONFIG) private readonly config: IngressConfig,
    private readonly startup: Startup,
    private readonly partners: PartnerCache,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.startup.begin(async () => {
      const c = this.config;
      await refuseDevelopmentSecrets({ nodeEnv: c.NODE_ENV, pepper: c.API_PASSWORD_PEPPER, databaseUrl: c.DATABASE_URL, partners: true });
      await this.partners.start();
    });
  }

  onModuleDestroy(): Promise<void> {
    return this.startup.stop();
  }
}
