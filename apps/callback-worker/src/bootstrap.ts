import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import type { CallbackConfig } from './config';

/**
 * Builds the callback worker: the `callback.dlr` and `callback.mo` consumers, plus `/health` and
 * `/metrics`. `main.ts` listens; tests call this with their own config.
 */
export async function createCallbackWorkerApp(config: CallbackConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), new FastifyAdapter(), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  return app;
}
