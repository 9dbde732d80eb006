import { ConfigError } from '@smsgw/common';
import { refuseDevelopmentSecrets } from '@smsgw/db';
import { createPortalApp } from './bootstrap';
import { loadPortalConfig } from './config';

async function main(): Promise<void> {
  const config = loadPortalConfig();
  // NODE_ENV=production: no development pepper, no seeded password (one line and exit 1 if so).
  await refuseDevelopmentSecrets({ nodeEnv: config.NODE_ENV, pepper: config.API_PASSWORD_PEPPER, databaseUrl: config.DATABASE_URL, portalUsers: true });
  const app = await createPortalApp(config);
  await app.listen({ port: config.PORTAL_PORT, host: config.PORTAL_HOST });
  app.getHttpAdapter().getInstance().log?.info?.(`portal listening on ${config.PORTAL_HOST}:${config.PORTAL_PORT}`);
}

main().catch((e) => {
  const msg = e instanceof ConfigError ? e.message : `portal failed to start: ${(e as Error).message}`;
  process.stderr.write(`${msg}\n`);
  process.exit(1);
});
