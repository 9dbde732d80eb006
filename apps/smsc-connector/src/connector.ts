import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import type { ConnectorConfig } from './config';

export interface RunningConnector {
  app: NestFastifyApplication;
  /** The HTTP port (/health, /metrics, /connections); useful with CONNECTOR_HTTP_PORT=0. */
  httpPort: number;
  /** Graceful stop, as on SIGTERM. */
  close(): Promise<void>;
}

/** Builds the application; `main.ts` and `startConnector` listen. */
export async function createConnectorApp(config: ConnectorConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), new FastifyAdapter(), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  return app;
}

/**
 * Starts a connector in this process (tests, or an embedding process): binds the enabled SMSC
 * connections, takes mt.dispatch jobs, serves HTTP on CONNECTOR_HTTP_PORT.
 */
export async function startConnector(config: ConnectorConfig): Promise<RunningConnector> {
  const app = await createConnectorApp(config);
  try {
    await app.listen({ port: config.CONNECTOR_HTTP_PORT, host: config.CONNECTOR_HTTP_HOST });
  } catch (e) {
    await app.close().catch(() => undefined);
    throw e;
  }
  const address = app.getHttpServer().address();
  let closing: Promise<void> | null = null;
  return {
    app,
    httpPort: typeof address === 'object' && address ? address.port : config.CONNECTOR_HTTP_PORT,
    close: () => (closing ??= app.close()),
  };
}
