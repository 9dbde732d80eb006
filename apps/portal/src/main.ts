import './tracing';
import { ConfigError, Startup } from '@smsgw/common';
import { refuseDevelopmentSecrets } from '@smsgw/db';
import { createPortalApp } from './bootstrap';
import { loadPortalConfig } from './config';

async function main(): Promise<void> {
  const config = loadPortalConfig();
  // NODE_ENV=production: no development pepper (one line and exit 1 if so); seeded portal
  // passwords are looked for once PostgreSQL answers (PortalLifecycle).
  await refuseDevelopmentSecrets({ nodeEnv: config.NODE_ENV, pepper: config.API_PASSWORD_PEPPER, databaseUrl: config.DATABASE_URL });
  const app = await createPortalApp(config);
  await app.listen({ port: config.PORTAL_PORT, host: config.PORTAL_HOST });
  app.getHttpAdapter().getInstance().log?.info?.(`portal listening on ${config.PORTAL_HOST}:${config.PORTAL_PORT}`);
  // Started before PostgreSQL or Redis answered: it waits for them; a start that then fails exits.
  await app.get(Startup).started();
}

main().catch((e) => {
  const msg = e instanceof ConfigError ? e.message : `portal failed to start: ${(e as Error).message}`;
  process.stderr.write(`${msg}\n`);
  process.exit(1);
});
