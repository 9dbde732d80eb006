import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { type Clock, systemClock } from './clock';
import type { SchedulerConfig } from './config';

export interface SchedulerOptions {
  /** Where "now" comes from; tests pass a clock they move. */
  clock?: Clock;
}

export interface RunningScheduler {
  app: NestFastifyApplication;
  /** The port of /health and /metrics (useful with SCHEDULER_HTTP_PORT=0). */
  httpPort: number;
  /** Graceful stop, as on SIGTERM. */
  close(): Promise<void>;
}

/**
 * Builds the scheduler: release, outbox sweeps and statistics rollup (each as SCHEDULER_TASKS
 * says), plus `/health` and `/metrics`. `main.ts` and `startScheduler` listen.
 */
export async function createSchedulerApp(config: SchedulerConfig, options: SchedulerOptions = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.clock ?? systemClock), new FastifyAdapter(), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  return app;
}

/** Starts a scheduler in this process (main.ts, tests, the benchmark). */
export async function startScheduler(config: SchedulerConfig, options: SchedulerOptions = {}): Promise<RunningScheduler> {
  const app = await createSchedulerApp(config, options);
  try {
    await app.listen({ port: config.SCHEDULER_HTTP_PORT, host: config.SCHEDULER_HTTP_HOST });
  } catch (e) {
    await app.close().catch(() => undefined);
    throw e;
  }
  const address = app.getHttpServer().address();
  let closing: Promise<void> | null = null;
  return {
    app,
    httpPort: typeof address === 'object' && address ? address.port : config.SCHEDULER_HTTP_PORT,
    close: () => (closing ??= app.close()),
  };
}
