import * as fs from 'node:fs';
import * as path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import { refuseUntilStarted, Startup } from '@smsgw/common';
import { AppModule } from './app.module';
import { sameToken } from './auth/auth.guard';
import { SESSION_COOKIE } from './auth/session';
import { SessionService } from './auth/session.service';
import { PORTAL_CONFIG, type PortalConfig } from './config';
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

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A string PostgreSQL cannot store as text: a NUL, or a lone UTF-16 surrogate (JSON may spell one
 * as \udXXX; it is no character). Looks through objects and arrays, however nested.
 */
export function hasUnstorableText(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000') || LONE_SURROGATE.test(value);
  if (value === null || typeof value !== 'object' || depth > 32) return false;
  return Object.entries(value).some(([k, v]) => hasUnstorableText(k, depth + 1) || hasUnstorableText(v, depth + 1));
}

/** Builds the portal; `main.ts` listens, tests call this with their own config. */
export async function createPortalApp(config: PortalConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: 256 * 1024, trustProxy: false, routerOptions: { querystringParser: firstValues } });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  // Nest's adapter carries its own copy of fastify's types; the instance is the same server.
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  // Until PostgreSQL and Redis answer, nothing but /health and /metrics is answered (503).
  fastify.addHook('onRequest', refuseUntilStarted(app.get(Startup)));
  await fastify.register(fastifyCookie);

  // PostgreSQL text and jsonb cannot hold U+0000 or a lone surrogate: such a request is refused
  // here, not by the database (500).
  fastify.addHook('preValidation', async (req: FastifyRequest, reply: FastifyReply) => {
    if (hasUnstorableText(req.query) || hasUnstorableText(req.params) || hasUnstorableText(req.body)) {
      return reply.code(400).send({ statusCode: 400, message: 'NUL characters and lone surrogates (invalid Unicode) are not accepted' });
    }
  });

  // Security headers on every answer: the UI is same-origin only and never framed.
  fastify.addHook('onSend', async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'same-origin');
    // The UI loads only its own bundle (the queue board, in its own scope, sets its own policy).
    if (!reply.hasHeader('Content-Security-Policy')) {
      reply.header('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    }
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
  });

  await mountQueueDashboard(app);

  const dir = staticDir(config);
  if (fs.existsSync(path.join(dir, 'index.html'))) {
    await fastify.register(fastifyStatic, { root: dir, prefix: '/', wildcard: false, index: ['index.html'] });
    // The UI routes itself (/messages, /operator/partners, ...): a GET of such a path gets the page.
    // (A catch-all route: more specific routes — the API, the files, the queue board — win over it.)
    // Only plainly spelled UI paths get it; anything else, including every other spelling of an
    // API path, is a 404, so no odd spelling is ever answered 200.
    const index = fs.readFileSync(path.join(dir, 'index.html'));
    fastify.get('/*', (req: FastifyRequest, reply: FastifyReply) => {
      if (isUiPath(req.url)) void reply.type('text/html; charset=utf-8').send(index);
      else void reply.code(404).send({ statusCode: 404, message: 'not found' });
    });
  }
  app.enableShutdownHooks();
  return app;
}

/**
 * A path the web UI routes itself: lower-case segments of letters, digits and dashes (e.g.
 * /messages/1042, /operator/partners), a query string allowed. Never the API or the queue board,
 * never an escape, a dot segment or an empty segment.
 */
export function isUiPath(url: string): boolean {
  const q = url.indexOf('?');
  const p = q === -1 ? url : url.slice(0, q);
  return /^(\/[a-z0-9][a-z0-9-]*)*\/?$/.test(p) && !/^\/(api|operator\/queues)(\/|$)/.test(p);
}

/**
 * Bull Board (jobs of every queue: numbers and texts; retry, clean, obliterate) at
 * /operator/queues/, for operators only. It lives in its own encapsulated Fastify scope whose
 * hooks run for every route of that scope, however the request spelled its path: the router
 * decides which route it is, then the scope's check runs. Its mutating API also needs the
 * session's CSRF token, which the board's own client sends back from the XSRF-TOKEN cookie
 * (axios' same-origin default), and a same-origin request.
 */
async function mountQueueDashboard(app: NestFastifyApplication): Promise<void> {
  const { createBullBoard } = await import('@bull-board/api');
  const { BullMQAdapter } = await import('@bull-board/api/bullMQAdapter');
  const { FastifyAdapter: BoardAdapter } = await import('@bull-board/fastify');
  const board = new BoardAdapter();
  board.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({ queues: app.get(QueuesService).queues.map((q) => new BullMQAdapter(q)), serverAdapter: board, options: { uiConfig: { boardTitle: 'smsgw queues' } } });
  const sessions = app.get(SessionService);
  const config = app.get<PortalConfig>(PORTAL_CONFIG);
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  await fastify.register(
    async (scope: FastifyInstance) => {
      scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
        const session = await sessions.authenticate((req as CookieRequest).cookies?.[SESSION_COOKIE]);
        if (!session) {
          // A person opening the page is sent to log in; anything else (the board's API) is told so.
          const page = req.method === 'GET' && String(req.headers.accept ?? '').includes('text/html');
          if (page) return reply.redirect(`/login?next=${encodeURIComponent(QUEUE_BOARD_PATH + '/')}`);
          return reply.code(401).send({ statusCode: 401, message: 'log in first' });
        }
        if (session.role !== 'operator') return reply.code(403).send({ statusCode: 403, message: 'operators only' });
        if (SAFE_METHODS.has(req.method)) {
          reply.setCookie(BOARD_CSRF_COOKIE, session.csrf, { path: QUEUE_BOARD_PATH, sameSite: 'strict', secure: config.secureCookies, httpOnly: false });
          return;
        }
        const token = req.headers[BOARD_CSRF_HEADER];
        if (typeof token !== 'string' || !sameToken(token, session.csrf) || !sameOrigin(req)) {
          return reply.code(403).send({ statusCode: 403, message: 'cross-site request refused (missing or wrong X-XSRF-Token)' });
        }
      });
      // The board's page brings inline scripts and styles of its own, and a <base href> for its deep links.
      scope.addHook('onSend', async (_req: FastifyRequest, reply: FastifyReply) => {
        reply.header('Content-Security-Policy', "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'");
      });
      await scope.register(board.registerPlugin());
    },
    { prefix: QUEUE_BOARD_PATH },
  );
}

type CookieRequest = FastifyRequest & { cookies?: Record<string, string | undefined> };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const QUEUE_BOARD_PATH = '/operator/queues';
/** Names axios, the board's HTTP client, uses for its double-submit token. */
const BOARD_CSRF_COOKIE = 'XSRF-TOKEN';
const BOARD_CSRF_HEADER = 'x-xsrf-token';

/** The browser says the request comes from this origin (Origin, else Sec-Fetch-Site). */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin) {
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }
  return req.headers['sec-fetch-site'] === 'same-origin';
}
