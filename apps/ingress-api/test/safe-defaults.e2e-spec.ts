// Safe defaults of the ingress: METRICS_PORT moves /metrics off the partner-facing port, and in
// production (NODE_ENV=production) the built service (dist/main.js, in a child process, as
// operators run it) refuses the development pepper and partners with the seeded API password.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetricsServer } from '@smsgw/common';
import { freePort, PEPPER, REDIS_URL, request, startIngress, type Ingress } from './harness';

jest.setTimeout(60_000);

const MAIN = path.resolve(__dirname, '..', 'dist', 'main.js');

describe('METRICS_PORT', () => {
  let ing: Ingress;

  afterEach(async () => {
    await ing?.close();
  });

  it('set: /metrics only on METRICS_HOST:METRICS_PORT; the API port answers 404', async () => {
    ing = await startIngress({ METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' });
    const p = await ing.createPartner();
    expect((await request(ing.port, `/send?serviceId=${p.login}&pass=${p.password}&clientId=79036550550&message=Hi`)).status).toBe(200);

    const main = await request(ing.port, '/metrics');
    expect(main.status).toBe(404);
    expect(main.body).not.toContain('smsgw_');

    const metricsPort = ing.app.get(MetricsServer).port;
    expect(metricsPort).toBeGreaterThan(0);
    expect(metricsPort).not.toBe(ing.port);
    const metrics = await request(metricsPort, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/smsgw_ingress_requests_total\{endpoint="send",code="200"\} \d+/);
    expect(metrics.body).toMatch(/smsgw_ingress_request_duration_seconds_bucket/);
    expect(metrics.body).toMatch(/smsgw_messages_accepted_total\{kind="live"\} \d+/);
    // Nothing else of the ingress there.
    expect((await request(metricsPort, '/health')).status).toBe(404);
    expect((await request(metricsPort, `/send?serviceId=${p.login}&pass=${p.password}&clientId=79036550550&message=Hi`)).status).toBe(404);
    expect((await request(ing.port, '/health')).status).toBe(200);
  });

  it('unset: /metrics on the API port, as before', async () => {
    ing = await startIngress();
    const r = await request(ing.port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/# TYPE smsgw_ingress_requests_total counter/);
  });
});

describe('NODE_ENV=production (dist/main.js)', () => {
  let ing: Ingress;

  beforeAll(async () => {
    if (!fs.existsSync(MAIN) || fs.statSync(MAIN).mtimeMs < fs.statSync(path.resolve(__dirname, '..', 'src', 'main.ts')).mtimeMs) {
      throw new Error('apps/ingress-api/dist is missing or stale: run npm run build first');
    }
    ing = await startIngress(); // its database and prefix; the child processes use them too
  });

  afterAll(async () => {
    await ing?.close();
  });

  /** Starts dist/main.js: `started` once /health answers (then stopped), or its exit code and output. */
  /** `undefined` in env: the variable is unset in the child. */
  async function run(env: Record<string, string | undefined>): Promise<{ started: boolean; code: number | null; output: string }> {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, DATABASE_URL: ing.config.DATABASE_URL, REDIS_URL, REDIS_PREFIX: ing.prefix, API_PASSWORD_PEPPER: PEPPER, INGRESS_PORT: String(port), INGRESS_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const until = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) return { started: false, code: await exited, output };
      if ((await request(port, '/health').catch(() => ({ status: 0 }))).status === 200) break;
      if (Date.now() > until) {
        child.kill('SIGKILL');
        throw new Error(`the ingress neither started nor exited:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGTERM');
    return { started: true, code: await exited, output };
  }

  it('refuses the development pepper, given or defaulted, with one line', async () => {
    for (const pepper of ['dev-pepper-change-me', undefined]) {
      const r = await run({ NODE_ENV: 'production', API_PASSWORD_PEPPER: pepper });
      expect(r).toMatchObject({ started: false, code: 1 });
      expect(r.output.trim().split('\n')).toEqual([
        `ingress-api failed to start: API_PASSWORD_PEPPER is the development default (dev-pepper-change-me) and NODE_ENV=production: ` +
          'set it to a long random secret of your own (e.g. openssl rand -base64 32), the same for every service and the CLI',
      ]);
    }
  });

  it('refuses while an active partner has the seeded API password; starts once it is blocked', async () => {
    const demo = await ing.createPartner({ login: 'demo', password: 'demo-pass' });
    await ing.createPartner({ login: 'other', password: 'not-the-demo-one' });
    const r = await run({ NODE_ENV: 'production' });
    expect(r).toMatchObject({ started: false, code: 1 });
    expect(r.output.trim().split('\n')).toEqual([
      'ingress-api failed to start: partner demo still has the seeded API password (demo-pass) and NODE_ENV=production: ' +
        'give it a new one (npm run admin -- partner set-password demo) or block it (npm run admin -- partner block demo)',
    ]);

    await ing.updatePartner(demo.id, "status = 'blocked'");
    expect(await run({ NODE_ENV: 'production' })).toMatchObject({ started: true });
  });

  it('development (NODE_ENV unset) starts with the development pepper and seeded passwords, as before', async () => {
    const r = await run({ NODE_ENV: undefined, API_PASSWORD_PEPPER: undefined });
    expect(r).toMatchObject({ started: true });
  });
});
