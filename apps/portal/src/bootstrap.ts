import * as fs from 'node:fs';
import * as path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { SESSION_COOKIE } from './auth/session';
import { SessionService } from './auth/session.service';
import type { PortalConfig } from './config';
import { QueuesService } from './operator/queues.service';

/** Where the built web UI is: dist/public next to this file (scripts/build-web.js writes it). */
export function staticDir(config: PortalConfig): string {
  return config.PORTAL_STATIC_DIR ?? path.join(__dirname, 'public');
}

/**
 * Query parameters as strings: a name given twice keeps its first value (as the partner API does),
 * so no route finds an array where it reads a string.
 */
export function firstValues(query: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of new URLSearchParams(query)) if (!Object.hasOwn(out, k)) out[k] = v;
  return out;
}

function hasNul(values: unknown): boolean {
  return values !== null && typeof values === 'object' && Object.values(values).some((v) => typeof v === 'string' && v.includes('\u0000'));
}

/** Builds the portal; `main.ts` listens, tests call this with their own config. */
export async function createPortalApp(config: PortalConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: 256 * 1024, trustProxy: false, routerOptions: { querystringParser: firstValues } });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  // Nest's adapter carries its own copy of fastify's types; the instance is the same server.
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  await fastify.register(fastifyCookie);

  // Security headers on every answer: the UI is same-origin only and never framed.
  fastify.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'same-origin');
    // The UI loads only its own bundle (Bull Board, a separate app, brings inline scripts of its own).
    if (!req.url.startsWith('/operator/queues')) {
      reply.header('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    }
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
  });

  // PostgreSQL text and jsonb cannot hold U+0000: such a request is refused here, not by the database (500).
  fastify.addHook('preValidation', async (req: FastifyRequest, reply: FastifyReply) => {
    if (hasNul(req.query) || hasNul(req.params) || (req.body !== undefined && JSON.stringify(req.body)?.includes('\\u0000'))) {
      return reply.code(400).send({ statusCode: 400, message: 'NUL characters are not accepted' });
    }
  });

  await mountQueueDashboard(app, config);

  const dir = staticDir(config);
  if (fs.existsSync(path.join(dir, 'index.html'))) {
    await fastify.register(fastifyStatic, { root: dir, prefix: '/', wildcard: false, index: ['index.html'] });
    // The UI routes itself (/messages, /operator/partners, ...): any other GET outside /api gets the page.
    const index = fs.readFileSync(path.join(dir, 'index.html'));
    // (A catch-all route: more specific routes — the API, the files, Bull Board — win over it.)
    fastify.get('/*', (req: FastifyRequest, reply: FastifyReply) => {
      if (req.url.startsWith('/api/')) void reply.code(404).send({ statusCode: 404, message: 'not found' });
      else void reply.type('text/html; charset=utf-8').send(index);
    });
  }
  app.enableShutdownHooks();
  return app;
}

/**
 * Bull Board (jobs of every queue, retries, failures) at /operator/queues/, for operators only:
 * the session cookie is checked before every request of that prefix. Its own API changes jobs,
 * so those requests must also come from this origin (the session cookie is SameSite=Strict too).
 */
async function mountQueueDashboard(app: NestFastifyApplication, config: PortalConfig): Promise<void> {
  const { createBullBoard } = await import('@bull-board/api');
  const { BullMQAdapter } = await import('@bull-board/api/bullMQAdapter');
  const { FastifyAdapter: BoardAdapter } = await import('@bull-board/fastify');
  const base = '/operator/queues';
  const board = new BoardAdapter();
  board.setBasePath(base);
  createBullBoard({ queues: app.get(QueuesService).queues.map((q) => new BullMQAdapter(q)), serverAdapter: board, options: { uiConfig: { boardTitle: 'smsgw queues' } } });
  const sessions = app.get(SessionService);
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  fastify.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    // The matched route as well as the target: an absolute-form or escaped target reaches it too.
    if (!req.url.startsWith(base) && !(req.routeOptions?.url ?? '').startsWith(base)) return;
    const id = (req as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies?.[SESSION_COOKIE];
    const session = id ? await sessions.get(id) : null;
    if (!session) return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`);
    if (session.role !== 'operator') return reply.code(403).send({ statusCode: 403, message: 'operators only' });
    if (!['GET', 'HEAD'].includes(req.method)) {
      const origin = req.headers.origin;
      const site = req.headers['sec-fetch-site'];
      const sameOrigin = origin ? new URL(origin).host === req.headers.host : site === 'same-origin';
      if (!sameOrigin) return reply.code(403).send({ statusCode: 403, message: 'cross-site request refused' });
    }
  });
  await fastify.register(board.registerPlugin(), { prefix: base });
  void config;
}
