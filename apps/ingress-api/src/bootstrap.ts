import { NestFactory } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { refuseUntilStarted, Startup } from '@smsgw/common';
import { AppModule } from './app.module';
import type { IngressConfig } from './config';
import { parseUrlEncoded } from './http/params';
import { SendRoute } from './send/send.route';

/** Builds the ingress application; `main.ts` listens, tests call this with their own config. */
export async function createIngressApp(config: IngressConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    // Parameters are decoded once, into Params, with UTF-8 validation (PROTOCOL: invalid UTF-8 is 400).
    routerOptions: { querystringParser: (s: string) => parseUrlEncoded(s) as unknown as Record<string, unknown> },
    bodyLimit: 64 * 1024,
    keepAliveTimeout: 75_000,
    trustProxy: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  // Until PostgreSQL and Redis answer and the partners are loaded, nothing but /health and
  // /metrics is answered (503), so no request is refused for a reason that is not its own.
  app.getHttpAdapter().getInstance().addHook('onRequest', refuseUntilStarted(app.get(Startup)));
  app
    .getHttpAdapter()
    .getInstance()
    .addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
      // latin1 keeps every byte as one char; Params re-reads percent-decoded bytes as UTF-8.
      done(null, parseUrlEncoded(body.toString('latin1')));
    });
  // /send is registered on Fastify directly (see SendRoute), before Nest adds its own routes.
  // The adapter carries its own copy of Fastify's types; the instance is the same Fastify.
  app.get(SendRoute).register(app.getHttpAdapter().getInstance() as unknown as FastifyInstance);
  app.enableShutdownHooks();
  return app;
}
