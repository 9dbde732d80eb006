// The portal on a throw-away database and Redis prefix, in this process, and an HTTP client that
// keeps a session like a browser does (cookies, the CSRF header).
// The portal runs as operators run it: the built dist/main.js in a child process (its cookie and
// static-file plugins load ES modules, which Node does and jest's module system does not).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { createPrismaClient, hashApiPassword, hashUserPassword, type PrismaClient } from '@smsgw/db';
import { createTestDatabase, freePort, type TestDatabase } from '@smsgw/db/dist/testing';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const PEPPER = 'portal-test-pepper';

export interface TestEnv {
  db: TestDatabase;
  pool: Pool;
  prisma: PrismaClient;
  redis: Redis;
  prefix: string;
  close(): Promise<void>;
}

export async function createTestEnv(): Promise<TestEnv> {
  process.env.API_PASSWORD_PEPPER = PEPPER;
  const db = await createTestDatabase();
  const prefix = `tportal${process.pid}_${randomBytes(3).toString('hex')}`;
  const pool = new Pool({ connectionString: db.url, max: 4 });
  const prisma = createPrismaClient(db.url);
  const redis = new Redis(REDIS_URL);
  return {
    db,
    pool,
    prisma,
    redis,
    prefix,
    async close() {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await prisma.$disconnect();
      await pool.end();
      await db.drop();
    },
  };
}

const PORTAL_ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(PORTAL_ROOT, 'dist', 'main.js');

/** Newest modification time under a folder. */
function newest(dir: string): number {
  let max = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return max;
}

/** Tests run the compiled portal: a stale build would test old code. */
export function assertBuilt(): void {
  const built = fs.existsSync(MAIN) ? fs.statSync(MAIN).mtimeMs : 0;
  const index = path.join(PORTAL_ROOT, 'dist', 'public', 'index.html');
  const web = fs.existsSync(index) ? fs.statSync(index).mtimeMs : 0;
  if (built < newest(path.join(PORTAL_ROOT, 'src')) || web < newest(path.join(PORTAL_ROOT, 'web'))) {
    throw new Error('apps/portal/dist is missing or older than its sources: run npm run build first');
  }
}

export { freePort };

export interface Portal {
  url: string;
  child: ChildProcess;
  output: string[];
  close(): Promise<void>;
}

export async function startPortal(t: TestEnv, env: Record<string, string> = {}): Promise<Portal> {
  assertBuilt();
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: t.db.url,
      REDIS_URL,
      REDIS_PREFIX: t.prefix,
      API_PASSWORD_PEPPER: PEPPER,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
      PORTAL_PORT: String(port),
      PORTAL_HOST: '127.0.0.1',
      CONNECTOR_URLS: 'http://127.0.0.1:1',
      SMPP_SERVER_URLS: 'http://127.0.0.1:1',
      // Partners' hooks in these tests are local servers; a test of the policy turns it off.
      CALLBACK_ALLOW_PRIVATE_TARGETS: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`portal exited ${child.exitCode}: ${output.join('')}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) throw new Error(`portal not healthy within 30 s: ${output.join('')}`);
    await sleep(100);
  }
  return {
    url,
    child,
    output,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function createPartner(t: TestEnv, login: string, extra: Record<string, unknown> = {}): Promise<{ id: number; login: string; password: string }> {
  const password = randomBytes(9).toString('base64url');
  const p = await t.prisma.partner.create({
    data: { login, name: `${login} Ltd`, apiPasswordHash: hashApiPassword(password, PEPPER), allowedIps: ['127.0.0.1/32', '::1/128'], senders: ['TEST'], defaultSender: 'TEST', rateLimit: 10_000, ...extra },
  });
  return { id: p.id, login, password };
}

export async function createUser(t: TestEnv, login: string, password: string, role: 'operator' | 'partner', partnerId: number | null = null): Promise<number> {
  return (await t.prisma.user.create({ data: { login, role, partnerId, passwordHash: await hashUserPassword(password) } })).id;
}

export interface Res<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A browser-like client: remembers cookies, sends the CSRF token it was given. */
export class Client {
  cookies = new Map<string, string>();
  csrf = '';

  constructor(readonly base: string) {}

  async request<T = any>(method: string, path: string, body?: unknown, opts: { csrf?: string | null; contentType?: string } = {}): Promise<Res<T>> {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
    const res = await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (value === '' || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* CSV, HTML */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = any>(path: string, body: unknown = {}, opts?: { csrf?: string | null; contentType?: string }) {
    return this.request<T>('POST', path, body, opts);
  }
  patch<T = any>(path: string, body: unknown, opts?: { csrf?: string | null }) {
    return this.request<T>('PATCH', path, body, opts);
  }
  delete<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }

  async login(login: string, password: string): Promise<Res> {
    const r = await this.post('/api/auth/login', { login, password });
    if (r.status === 200) this.csrf = r.body.csrfToken;
    return r;
  }
}

export async function loggedIn(base: string, login: string, password: string): Promise<Client> {
  const c = new Client(base);
  const r = await c.login(login, password);
  if (r.status !== 200) throw new Error(`login ${login}: ${r.status} ${JSON.stringify(r.body)}`);
  return c;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
