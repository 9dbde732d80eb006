import './tracing';
import { ConfigError, Startup } from '@smsgw/common';
import { loadConnectorConfig } from './config';
import { createConnectorApp } from './connector';

async function main(): Promise<void> {
  const config = loadConnectorConfig();
  const app = await createConnectorApp(config);
  // SIGTERM/SIGINT: stop taking jobs, wait for submit responses, unbind, close (see ConnectorLifecycle).
  app.enableShutdownHooks();
  await app.listen({ port: config.CONNECTOR_HTTP_PORT, host: config.CONNECTOR_HTTP_HOST });
  // Started before PostgreSQL or Redis answered: it waits for them; a start that then fails exits.
  await app.get(Startup).started();
}

main().catch((e) => {
  // One line a person can act on, not a stack trace.
  const msg = e instanceof ConfigError ? e.message : `smsc-connector failed to start: ${(e as Error).message}`;
  process.stderr.write(`${msg}\n`);
  process.exit(1);
});
