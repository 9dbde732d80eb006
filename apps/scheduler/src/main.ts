import './tracing';
import { ConfigError, Startup } from '@smsgw/common';
import { startScheduler } from './bootstrap';
import { loadSchedulerConfig } from './config';

async function main(): Promise<void> {
  const config = loadSchedulerConfig();
  const { app, httpPort } = await startScheduler(config);
  app.getHttpAdapter().getInstance().log?.info?.(`scheduler: tasks ${config.SCHEDULER_TASKS.join(',') || 'none'}; /health and /metrics on ${config.SCHEDULER_HTTP_HOST}:${httpPort}`);
  // Started before PostgreSQL or Redis answered: it waits for them; a start that then fails exits.
  await app.get(Startup).started();
}

main().catch((e) => {
  // One line a person can act on, not a stack trace.
  const msg = e instanceof ConfigError ? e.message : `scheduler failed to start: ${(e as Error).message}`;
  process.stderr.write(`${msg}\n`);
  process.exit(1);
});
