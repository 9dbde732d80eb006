import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Startup } from '@smsgw/common';
import { refuseDevelopmentSecrets } from '@smsgw/db';
import { PartnerCache } from './partner-cache.service';
import { INTAKE_CONFIG, type IntakeConfig } from './tokens';

/**
 * Start and stop order of an app with an intake, in one place. Start: once PostgreSQL and Redis
 * answer (Startup; until then the app refuses partners' requests), refuse seeded partner
 * passwords in production, load the partners and follow their changes. Stop: no more waiting; the
 * rest stops in the services' own hooks.
 */
@Injectable()
export class IntakeLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @Inject(INTAKE_CONFIG) private readonly config: IntakeConfig,
    private readonly startup: Startup,
    private readonly partners: PartnerCache,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.startup.begin(async () => {
      const c = this.config;
      await refuseDevelopmentSecrets({ nodeEnv: c.nodeEnv, pepper: c.apiPasswordPepper, databaseUrl: c.databaseUrl, partners: true });
      await this.partners.start();
    });
  }

  onModuleDestroy(): Promise<void> {
    return this.startup.stop();
  }
}
