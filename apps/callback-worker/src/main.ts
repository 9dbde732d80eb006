import './tracing';
import { ConfigError, Startup } from '@smsgw/common';
import { createCallbackWorkerApp } from './bootstrap';
import { loadCallbackConfig } from './config';

async function main(): Promise<void> {
  const config = loadCallbackConfig();
  const app = await createCallbackWorkerApp(config);
  await app.listen({ port: config.CALLBACK_HTTP_PORT, host: config.CALLBACK_HTTP_HOST });
  app.getHttpAdapter().getInstance().log?.info?.(`callback-worker: /health and /metrics on ${config.CALLBACK_HTTP_HOST}:${config.CALLBACK_HTTP_PORT}`);
  // Started before PostgreSQL or Redis answered: it waits for them; a start that then fails exits.
  await app.get(Startup).started();
}

main().catch((e) => {
  // One line a person can act on, not a stack trace.
  const msg = e instanceof ConfigError ? e.message : `callback-worker failed to start: ${(e as Error).message}`;
  process.stderr.write(`${msg}\n`);
  process.exit(1);
});
