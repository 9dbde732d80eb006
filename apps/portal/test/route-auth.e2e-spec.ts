// No spelling of a path reaches a private route without a session of the right role. Every route
// the portal's controllers declare (read from their Nest metadata, so a new route is covered the
// day it is added) and the queue board's API are requested over raw sockets, as an attacker types
// them: percent-encoded letters, double encoding, `//`, `/./`, `/x/../`, upper case, trailing
// slash, absolute-form targets, encoded slashes and backslashes. Without a session each answer
// is 401 or 404 (400 where Node's HTTP parser refuses the request line itself), never data; with
// a partner user's session an operator route is never answered 2xx.
import 'reflect-metadata';
import * as net from 'node:net';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { AppModule } from '../dist/app.module';
import { PUBLIC_ROUTE, ROLES } from '../dist/auth/session';
import { loadPortalConfig } from '../dist/config';
import { Client, createPartner, createTestEnv, createUser, loggedIn, type Portal, startPortal, type TestEnv } from './harness';

jest.setTimeout(120_000);

interface Route {
  method: string;
  path: string;
  roles: string[] | undefined;
}

type Ctor = abstract new (...args: never[]) => unknown;

/** Every route of the portal's Nest controllers with its role list, public and probe routes left out. */
function privateRoutes(): Route[] {
  const root = AppModule.forRoot(loadPortalConfig({}));
  const controllers = new Set<Ctor>(root.controllers as Ctor[]);
  const seen = new Set<unknown>();
  const visit = (m: unknown): void => {
    if (!m || seen.has(m)) return;
    seen.add(m);
    const mod = (typeof m === 'object' && 'module' in (m as object) ? (m as { module: unknown }).module : m) as object;
    const dyn = typeof m === 'object' ? (m as { controllers?: Ctor[]; imports?: unknown[] }) : {};
    for (const c of [...((Reflect.getMetadata('controllers', mod) as Ctor[] | undefined) ?? []), ...(dyn.controllers ?? [])]) controllers.add(c);
    for (const i of [...((Reflect.getMetadata('imports', mod) as unknown[] | undefined) ?? []), ...(dyn.imports ?? [])]) visit(i);
  };
  for (const i of root.imports ?? []) visit(i);
  const routes: Route[] = [];
  for (const c of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, c) ?? '').replace(/^\/|\/$/g, '');
    if (base === '' && ['HealthController', 'MetricsController'].includes(c.name)) continue;
    const proto = c.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const fn = proto[name];
      if (typeof fn !== 'function' || name === 'constructor') continue;
      const sub = Reflect.getMetadata(PATH_METADATA, fn) as string | undefined;
      if (sub === undefined) continue;
      if (Reflect.getMetadata(PUBLIC_ROUTE, fn) || Reflect.getMetadata(PUBLIC_ROUTE, c)) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, fn) as number]!;
      const path = `/${[base, sub.replace(/^\/|\/$/g, '')].filter(Boolean).join('/')}`.replace(/:[A-Za-z]+/g, '1');
      routes.push({ method, path, roles: (Reflect.getMetadata(ROLES, fn) ?? Reflect.getMetadata(ROLES, c)) as string[] | undefined });
    }
  }
  return routes;
}

const hex = (ch: string, upper = true) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`;

/** Other spellings of the same path, each a request target as sent on the wire. */
function spellings(path: string, host: string): string[] {
  const segs = path.split('/').slice(1);
  const first = segs[0]!;
  const rest = segs.slice(1).join('/');
  const encodeLetter = (s: string, i: number, upper = true) => s.slice(0, i) + hex(s[i]!, upper) + s.slice(i + 1);
  const out = [
    path,
    `/${encodeLetter(first, 0)}/${rest}`,
    `/${encodeLetter(first, 0, false)}/${rest}`,
    `/${first}/${encodeLetter(rest, rest.length - 1)}`,
    `/${[...first].map((c) => hex(c)).join('')}/${rest}`,
    path.replace(/[a-z]/g, (c) => hex(c)),
    `/${first.replace(/[a-z]/, (c) => `%25${c.charCodeAt(0).toString(16)}`)}/${rest}`,
    `/${first}%2F${rest.replace(/\//g, '%2F')}`,
    `/${first}%2f${rest}`,
    `/${first}%5C${rest}`,
    `/${first}\\${rest}`,
    `/${path}`,
    `/${first}//${rest}`,
    `/./${first}/${rest}`,
    `/${first}/./${rest}`,
    `/%2e/${first}/${rest}`,
    `/x/../${first}/${rest}`,
    `/x/%2e%2e/${first}/${rest}`,
    `/${first}/x/../${rest}`,
    path.toUpperCase(),
    `/${first[0]!.toUpperCase()}${first.slice(1)}/${rest}`,
    `${path}/`,
    `${path}//`,
    `${path}/.`,
    `${path}?x=1`,
    `${path};x=1`,
    `${path}%00`,
    `${path}%20`,
    `${path}#x`,
    `http://${host}${path}`,
    `http://attacker.example${path}`,
    `HTTP://${host}/${encodeLetter(first, 0)}/${rest}`,
    `http://${host}//${path.slice(1)}`,
  ];
  return [...new Set(out)];
}

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** One request over a raw socket: the target goes on the wire exactly as given. */
function raw(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const body = method === 'GET' || method === 'HEAD' ? '' : '{}';
    const lines = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (body) lines.push('Content-Type: application/json', `Content-Length: ${body.length}`);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${method} ${target}`)));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const i = text.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), head: text.slice(0, i), body: text.slice(i + 4) });
    });
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
}

let t: TestEnv;
let portal: Portal;
let port: number;
let routes: Route[];
let partnerCookie: string;
let partnerCsrf: string;
const SECRET_LOGIN = 'operator-secret-login';

beforeAll(async () => {
  routes = privateRoutes();
  t = await createTestEnv();
  const p = await createPartner(t, 'routeauth', { statusUrl: 'http://partner.example/dlr-secret-path' });
  await createUser(t, SECRET_LOGIN, 'op-password-1', 'operator');
  await createUser(t, 'partner-user', 'pu-password-1', 'partner', p.id);
  portal = await startPortal(t);
  port = Number(new URL(portal.url).port);
  const c: Client = await loggedIn(portal.url, 'partner-user', 'pu-password-1');
  partnerCookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  partnerCsrf = c.csrf;
});

afterAll(async () => {
  await portal?.close();
  await t?.close();
});

/** What must never be in an answer to someone without the right session. */
function leaks(a: RawAnswer): boolean {
  return a.body.includes(SECRET_LOGIN) || a.body.includes('dlr-secret-path') || a.body.includes('"counts"') || a.body.includes('"queues"');
}

it('finds the portal routes to attack', () => {
  const paths = routes.map((r) => `${r.method} ${r.path}`);
  expect(paths).toEqual(expect.arrayContaining(['GET /api/operator/users', 'GET /api/operator/partners', 'GET /api/operator/audit', 'GET /api/operator/smsc', 'GET /api/messages', 'POST /api/account/api-password']));
  expect(routes.length).toBeGreaterThan(25);
});

it('the reported bypasses are closed', async () => {
  for (const target of ['/%61pi/operator/users', '/%61pi/operator/partners', '/%61pi/operator/audit', '/%61pi/operator/smsc', '/operator/%71ueues/api/queues', `http://127.0.0.1:${port}/api/operator/users`]) {
    const a = await raw(port, 'GET', target);
    expect({ target, ok: [401, 404].includes(a.status), status: a.status, leak: leaks(a) }).toEqual({ target, ok: true, status: a.status, leak: false });
  }
});

it('no spelling of a private route answers without a session', async () => {
  const bad: string[] = [];
  let sent = 0;
  for (const r of routes) {
    for (const target of spellings(r.path, `127.0.0.1:${port}`)) {
      const a = await raw(port, r.method, target);
      sent++;
      // 400: Node's parser refused the request line (a bare backslash, a fragment); still no data.
      if (![400, 401, 404].includes(a.status) || leaks(a)) bad.push(`${r.method} ${target} -> ${a.status} ${a.body.slice(0, 120)}`);
    }
  }
  expect(bad).toEqual([]);
  expect(sent).toBeGreaterThan(routes.length * 25);
});

it("no spelling of an operator route answers a partner user's session", async () => {
  const bad: string[] = [];
  for (const r of routes.filter((x) => x.roles?.includes('operator') && !x.roles.includes('partner'))) {
    for (const target of spellings(r.path, `127.0.0.1:${port}`)) {
      const a = await raw(port, r.method, target, { Cookie: partnerCookie, 'X-CSRF-Token': partnerCsrf, Origin: `http://127.0.0.1:${port}` });
      if (![400, 403, 404].includes(a.status) || leaks(a)) bad.push(`${r.method} ${target} -> ${a.status} ${a.body.slice(0, 120)}`);
    }
  }
  expect(bad).toEqual([]);
});

describe('the queue board', () => {
  const boardTargets = ['/operator/queues/api/queues', '/operator/queues/', '/operator/queues/api/redis/stats'];

  it('answers no spelling of its pages or API without a session (the page itself sends a browser to log in)', async () => {
    const bad: string[] = [];
    for (const path of boardTargets) {
      for (const target of spellings(path, `127.0.0.1:${port}`)) {
        for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
          const a = await raw(port, method, target, { Accept: 'application/json' });
          if (![400, 401, 404, 405].includes(a.status) || leaks(a)) bad.push(`${method} ${target} -> ${a.status} ${a.body.slice(0, 120)}`);
        }
      }
    }
    expect(bad).toEqual([]);
    const page = await raw(port, 'GET', '/operator/%71ueues/', { Accept: 'text/html' });
    expect(page.status).toBe(302);
    expect(page.head).toMatch(/location: \/login\?next=/i);
  });

  it("answers no spelling of it to a partner user's session", async () => {
    const bad: string[] = [];
    for (const path of boardTargets) {
      for (const target of spellings(path, `127.0.0.1:${port}`)) {
        const a = await raw(port, 'GET', target, { Cookie: partnerCookie, Accept: 'application/json' });
        if (![400, 403, 404].includes(a.status) || leaks(a)) bad.push(`GET ${target} -> ${a.status} ${a.body.slice(0, 120)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("changes jobs only with the session's CSRF token from this origin", async () => {
    const op = await loggedIn(portal.url, SECRET_LOGIN, 'op-password-1');
    const cookie = [...op.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const page = await raw(port, 'GET', '/operator/queues/', { Cookie: cookie, Accept: 'text/html' });
    expect(page.status).toBe(200);
    const xsrf = /set-cookie: XSRF-TOKEN=([^;]+);[^\r\n]*Path=\/operator\/queues/i.exec(page.head)?.[1];
    expect(xsrf).toBe(op.csrf);
    expect((await raw(port, 'GET', '/operator/queues/api/queues', { Cookie: cookie })).status).toBe(200);
    const pause = '/operator/queues/api/queues/mt.dispatch/pause';
    const origin = `http://127.0.0.1:${port}`;
    expect((await raw(port, 'PUT', pause, { Cookie: cookie, Origin: origin })).status).toBe(403);
    expect((await raw(port, 'PUT', pause, { Cookie: cookie, Origin: 'http://attacker.example', 'X-XSRF-Token': xsrf! })).status).toBe(403);
    expect((await raw(port, 'PUT', pause, { Cookie: cookie, Origin: origin, 'X-XSRF-Token': 'x'.repeat(xsrf!.length) })).status).toBe(403);
    expect((await raw(port, 'PUT', pause, { Cookie: cookie, 'X-XSRF-Token': xsrf! })).status).toBe(403);
    const ok = await raw(port, 'PUT', pause, { Cookie: cookie, Origin: origin, 'X-XSRF-Token': xsrf! });
    expect(ok.status).toBe(200);
    await raw(port, 'PUT', '/operator/queues/api/queues/mt.dispatch/resume', { Cookie: cookie, Origin: origin, 'X-XSRF-Token': xsrf! });
  });
});

it('public routes stay public: login, health, the UI page and its files', async () => {
  expect((await raw(port, 'GET', '/health')).status).toBe(200);
  expect((await raw(port, 'GET', '/')).status).toBe(200);
  expect((await raw(port, 'GET', '/messages/10')).status).toBe(200);
  expect((await raw(port, 'POST', '/api/auth/login')).status).toBe(400);
});
