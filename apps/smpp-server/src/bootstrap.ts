import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import type { SmppServerConfig } from './config';
import { ReceiverRegistry } from './receiver-registry';
import { SmppListener } from './smpp-listener';

/** A relay request carries up to 500 reports and MO (an MO up to 100,000 characters). */
const RELAY_BODY_LIMIT = 64 * 1024 * 1024;

export interface RunningSmppServer {
  app: NestFastifyApplication;
  /** The SMPP port partners bind to (useful with SMPP_SERVER_PORT=0). */
  smppPort: number;
  /** The port of /health and /metrics. */
  httpPort: number;
  /** Graceful stop, as on SIGTERM: every session unbound first. */
  close(): Promise<void>;
}

/** Starts the SMPP server in this process (main.ts, tests). */
export async function startSmppServer(config: SmppServerConfig): Promise<RunningSmppServer> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), new FastifyAdapter({ bodyLimit: RELAY_BODY_LIMIT }), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  try {
    await app.listen({ port: config.SMPP_SERVER_HTTP_PORT, host: config.SMPP_SERVER_HTTP_HOST });
  } catch (e) {
    await app.close().catch(() => undefined);
    throw e;
  }
  const address = app.getHttpServer().address();
  const httpPort = typeof address === 'object' && address ? address.port : config.SMPP_SERVER_HTTP_PORT;
  app.get(ReceiverRegistry).listening(httpPort);
  let closing: Promise<void> | null = null;
  return {
    app,
    smppPort: app.get(SmppListener).port,
    httpPort,
    close: () => (closing ??= app.close()),
  };
}
