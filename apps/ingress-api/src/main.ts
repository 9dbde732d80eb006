import './tracing';
import type { FastifyListenOptions } from 'fastify';
import { ConfigError, Startup } from '@smsgw/common';
import { refuseDevelopmentSecrets } from '@smsgw/db';
import { createIngressApp } from './bootstrap';
import { loadIngressConfig } from './config';

async function main(): Promise<void> {
  const config = loadIngressConfig();
  // NODE_ENV=production: no development pepper (one line and exit 1 if so); seeded partner
  // passwords are looked for once PostgreSQL answers (IntakeLifecycle).
  await refuseDevelopmentSecrets({ nodeEnv: config.NODE_ENV, pepper: config.API_PASSWORD_PEPPER, databaseUrl: config.DATABASE_URL });
  const app = await createIngressApp(config);
  // Fastify hands its listen options to node's server.listen, whose `reusePort` (Node 22.12+)
  // Fastify's own type does not list yet.
  const listen: FastifyListenOptions & { reusePort?: boolean } = { port: config.INGRESS_PORT, host: config.INGRESS_HOST };
  if (config.INGRESS_REUSE_PORT) listen.reusePort = true;
  await app.listen(listen);
  app.getHttpAdapter().getInstance().log?.info?.(`ingress-api listening on ${config.INGRESS_HOST}:${config.INGRESS_PORT}`);
  // Started before PostgreSQL or Redis answered: it waits for them; a start that then fails exits.
  await app.get(Startup).started();
}

main().catch((e) => {
  // One line a person can act on, not a stack trace.
  const msg = e instanceof ConfigError ? e.message : `ingress-api failed to start: ${(e as Error).message}`;
  process.stderr.write(`${msg}\n`);
  process.exit(1);
});
