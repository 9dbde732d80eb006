import './tracing';
import { ConfigError, Startup } from '@smsgw/common';
import { refuseDevelopmentSecrets } from '@smsgw/db';
import { startSmppServer } from './bootstrap';
import { loadSmppServerConfig } from './config';

async function main(): Promise<void> {
  const config = loadSmppServerConfig();
  await refuseDevelopmentSecrets({ nodeEnv: config.NODE_ENV, pepper: config.API_PASSWORD_PEPPER, databaseUrl: config.DATABASE_URL });
  const { app, smppPort, httpPort } = await startSmppServer(config);
  app.getHttpAdapter().getInstance().log?.info?.(`smpp-server: SMPP on ${config.SMPP_SERVER_HOST}:${smppPort}; /health and /metrics on ${config.SMPP_SERVER_HTTP_HOST}:${httpPort}`);
  await app.get(Startup).started();
}

main().catch((e) => {
  // One line a person can act on, not a stack trace.
  const msg = e instanceof ConfigError ? e.message : `smpp-server failed to start: ${(e as Error).message}`;
  process.stderr.write(`${msg}\n`);
  process.exit(1);
});
