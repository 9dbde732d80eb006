// Safe defaults of the portal as operators run it (dist/main.js in a child process): in
// production it refuses the development pepper and the seeded portal passwords; METRICS_PORT
// moves /metrics off the public port.
import { hashUserPassword } from '@smsgw/db';
import { seedDemoPartner, seedPortalUsers } from '@smsgw/db/dist/seed';
import { createTestEnv, freePort, PEPPER, startPortal, type TestEnv } from './harness';

jest.setTimeout(60_000);

let t: TestEnv;

beforeAll(async () => {
  t = await createTestEnv();
});

afterAll(async () => {
  await t?.close();
});

/** Starts the portal expecting it to refuse: its exit code and what it printed. */
async function refused(env: Record<string, string>): Promise<string> {
  const err = await startPortal(t, env).then(
    async (p) => {
      await p.close();
      return null;
    },
    (e: Error) => e,
  );
  expect(err).not.toBeNull();
  expect(err!.message).toMatch(/^portal exited 1: /);
  // One line a person can act on.
  const lines = err!.message.replace(/^portal exited 1: /, '').trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('NODE_ENV=production', () => {
  it('refuses the development pepper', async () => {
    expect(await refused({ NODE_ENV: 'production', API_PASSWORD_PEPPER: 'dev-pepper-change-me' })).toMatch(
      /^portal failed to start: API_PASSWORD_PEPPER is the development default \(dev-pepper-change-me\) and NODE_ENV=production: set it to a long random secret of your own/,
    );
  });

  it('refuses while a seeded account keeps its seeded password; starts once both are changed', async () => {
    const { partner } = await seedDemoPartner(t.prisma, PEPPER);
    await seedPortalUsers(t.prisma, partner.id);
    expect(await refused({ NODE_ENV: 'production' })).toBe(
      'portal failed to start: portal users operator, demo still have their seeded passwords and NODE_ENV=production: set a new one (npm run admin -- user set-password operator)',
    );

    await t.prisma.user.update({ where: { login: 'operator' }, data: { passwordHash: await hashUserPassword('a-new-operator-password') } });
    expect(await refused({ NODE_ENV: 'production' })).toMatch(/^portal failed to start: portal user demo still has the seeded password/);

    await t.prisma.user.update({ where: { login: 'demo' }, data: { passwordHash: await hashUserPassword('a-new-demo-password') } });
    const portal = await startPortal(t, { NODE_ENV: 'production' });
    await portal.close();
  });

  it('development (the default) is unchanged: seeded passwords and the development pepper are accepted', async () => {
    await t.prisma.user.update({ where: { login: 'operator' }, data: { passwordHash: await hashUserPassword('operator-pass') } });
    const portal = await startPortal(t, { NODE_ENV: 'development', API_PASSWORD_PEPPER: 'dev-pepper-change-me' });
    await portal.close();
  });
});

describe('METRICS_PORT', () => {
  it('serves /metrics only on its own port; the portal port answers 404 (not the web UI)', async () => {
    const metricsPort = await freePort();
    const portal = await startPortal(t, { METRICS_PORT: String(metricsPort) });
    try {
      const main = await fetch(`${portal.url}/metrics`);
      expect(main.status).toBe(404);
      expect(await main.text()).not.toMatch(/process_cpu|<html/i);
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await metrics.text()).toMatch(/^process_cpu_user_seconds_total \d/m);
      // Only /metrics there: nothing of the portal.
      expect((await fetch(`http://127.0.0.1:${metricsPort}/api/auth/me`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/health`)).status).toBe(404);
    } finally {
      await portal.close();
    }
  });

  it('unset: /metrics on the portal port, as before', async () => {
    const portal = await startPortal(t);
    try {
      const r = await fetch(`${portal.url}/metrics`);
      expect(r.status).toBe(200);
      expect(await r.text()).toMatch(/^process_cpu_user_seconds_total \d/m);
    } finally {
      await portal.close();
    }
  });
});
