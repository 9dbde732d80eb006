// INGRESS_REUSE_PORT: several built ingress processes (dist/main.js, as operators run them) on one
// port of one machine. Each has its own METRICS_PORT, which is how an operator tells them apart.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, PEPPER, REDIS_URL, request, startIngress, type Ingress, type TestPartner } from './harness';

jest.setTimeout(60_000);

const MAIN = path.resolve(__dirname, '..', 'dist', 'main.js');

interface Instance {
  child: ChildProcess;
  metricsPort: number;
  output: () => string;
  /** The exit code, or the signal that ended it (a graceful stop on SIGTERM re-raises it). */
  exited: Promise<number | string | null>;
}

describe('INGRESS_REUSE_PORT (dist/main.js)', () => {
  let ing: Ingress;
  let partner: TestPartner;
  const started: Instance[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(MAIN) || fs.statSync(MAIN).mtimeMs < fs.statSync(path.resolve(__dirname, '..', 'src', 'main.ts')).mtimeMs) {
      throw new Error('apps/ingress-api/dist is missing or stale: run npm run build first');
    }
    ing = await startIngress(); // its database and prefix; the child processes use them too
    partner = await ing.createPartner({ rate_limit: 100_000 });
  });

  afterAll(async () => {
    for (const i of started) if (i.child.exitCode === null && i.child.signalCode === null) i.child.kill('SIGKILL');
    await ing?.close();
  });

  async function launch(port: number, reusePort: string | undefined): Promise<Instance> {
    const metricsPort = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        DATABASE_URL: ing.config.DATABASE_URL,
        REDIS_URL,
        REDIS_PREFIX: ing.prefix,
        API_PASSWORD_PEPPER: PEPPER,
        INGRESS_PORT: String(port),
        INGRESS_HOST: '127.0.0.1',
        INGRESS_REUSE_PORT: reusePort,
        METRICS_PORT: String(metricsPort),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const instance = { child, metricsPort, output: () => output, exited: new Promise<number | string | null>((r) => child.once('exit', (code, signal) => r(code ?? signal))) };
    started.push(instance);
    return instance;
  }

  /** Messages this instance accepted (200 on /send), from its own /metrics; null while it does not answer. */
  async function accepted(i: Instance): Promise<number | null> {
    const r = await request(i.metricsPort, '/metrics').catch(() => null);
    if (!r || r.status !== 200) return null;
    return Number(/^smsgw_ingress_requests_total\{endpoint="send",code="200"\} (\d+)/m.exec(r.body)?.[1] ?? 0);
  }

  /** /send on a fresh connection each time (the kernel picks a listener per connection). */
  const send = (port: number, n: number) => request(port, `/send?serviceId=${partner.login}&pass=${partner.password}&clientId=7903655${String(n).padStart(4, '0')}&message=Hi`);

  async function until<T>(what: string, check: () => Promise<T | null | false>, instances: Instance[]): Promise<T> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const v = await check();
      if (v) return v;
      const dead = instances.find((i) => i.child.exitCode !== null);
      if (dead) throw new Error(`an instance exited while waiting for ${what}:\n${dead.output()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${instances.map((i) => i.output()).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('true: two processes share the port, the kernel spreads connections over both, one stopping leaves the other serving', async () => {
    const port = await freePort();
    const a = await launch(port, 'true');
    await until('the first instance', async () => (await request(port, '/health').catch(() => null))?.status === 200, [a]);
    const b = await launch(port, 'true');
    await until('the second instance', async () => (await accepted(b)) !== null, [a, b]);

    // Until both have taken messages: a connection the kernel gives to an instance still starting
    // is answered 503, and sent again.
    let ok = 0;
    let n = 0;
    await until(
      'both instances to accept',
      async () => {
        for (let k = 0; k < 20; k++) if ((await send(port, n++)).status === 200) ok++;
        const [ca, cb] = [await accepted(a), await accepted(b)];
        return ca !== null && cb !== null && ca > 0 && cb > 0;
      },
      [a, b],
    );
    expect((await accepted(a))! + (await accepted(b))!).toBe(ok);

    a.child.kill('SIGTERM');
    expect(await a.exited).toBe('SIGTERM');
    const before = (await accepted(b))!;
    for (let k = 0; k < 10; k++) expect((await send(port, n++)).status).toBe(200);
    expect(await accepted(b)).toBe(before + 10);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe('SIGTERM');
  });

  it('unset (default): a second process on a taken port exits, saying EADDRINUSE', async () => {
    const port = await freePort();
    const a = await launch(port, undefined);
    await until('the first instance', async () => (await request(port, '/health').catch(() => null))?.status === 200, [a]);
    const b = await launch(port, undefined);
    expect(await b.exited).toBe(1);
    expect(b.output()).toMatch(/^ingress-api failed to start: listen EADDRINUSE/m);
    // The first one is unaffected.
    expect((await send(port, 1)).status).toBe(200);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe('SIGTERM');
  });

  it('a value other than true or false is refused at start', async () => {
    const b = await launch(await freePort(), 'yes');
    expect(await b.exited).toBe(1);
    expect(b.output()).toContain('INGRESS_REUSE_PORT');
  });
});
