import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { hashApiPassword } from '@smsgw/db';
import { createIngressApp } from '@smsgw/ingress-api/dist/bootstrap';
import { loadIngressConfig } from '@smsgw/ingress-api/dist/config';
import { REDIS_URL, TestEnv } from './harness';

jest.setTimeout(30_000);

const PEPPER = 'connector-e2e-pepper';

/** The whole MT path: a partner's /send through the real ingress, its job, the connector, the SMSC, the receipt, /status. */
describe('a message sent through the ingress API', () => {
  let env: TestEnv;
  let ingress: NestFastifyApplication;
  let port: number;

  beforeAll(async () => {
    env = await TestEnv.create();
    await env.addConnection({ name: 'e2e' });
    await env.pool.query(
      `INSERT INTO partner (login, api_password_hash, allowed_ips, senders, default_sender, rate_limit)
       VALUES ('acme', $1, '{127.0.0.1/32,::1/128}', '{ACME}', 'ACME', 1000)`,
      [hashApiPassword('secret-password', PEPPER)],
    );
    await env.startConnector();
    ingress = await createIngressApp(
      loadIngressConfig({ DATABASE_URL: env.db.url, REDIS_URL, REDIS_PREFIX: env.prefix, API_PASSWORD_PEPPER: PEPPER, LOG_LEVEL: 'silent' }),
    );
    await ingress.listen({ port: 0, host: '127.0.0.1' });
    port = (ingress.getHttpServer().address() as { port: number }).port;
  });
  afterAll(async () => {
    await ingress.close();
    await env.close();
  });

  const call = async (path: string, params: Record<string, string>): Promise<string> => {
    const qs = new URLSearchParams({ serviceId: 'acme', pass: 'secret-password', ...params });
    const res = await fetch(`http://127.0.0.1:${port}${path}?${qs}`);
    return `${res.status} ${await res.text()}`;
  };

  it('is delivered, long text and high priority included', async () => {
    const answers = await Promise.all([
      call('/send', { clientId: '+7 903 655-05-51', message: 'Привет из ingress' }),
      call('/send', { clientId: '79036550552', message: 'x'.repeat(300), smsPriority: '2' }),
    ]);
    const ids = answers.map((a) => {
      expect(a).toMatch(/^200 OK\n\d+$/);
      return a.split('\n')[1]!;
    });
    await env.waitFor(ids, (m) => m.status === 2);
    const status = await call('/status', { transactionId: ids.join(',') });
    expect(status).toMatch(new RegExp(`^200 OK\\n${ids[0]};2;0;[^;]+;1\\n${ids[1]};2;0;[^;]+;2$`));
    expect(env.sim.control.getSubmits(10, '79036550551')[0]).toMatchObject({ sourceAddr: 'ACME', text: 'Привет из ingress', dataCoding: 8 });
    expect(env.sim.control.getSubmits(10, '79036550552').map((s) => s.priorityFlag)).toEqual([1, 1]);
  });
});
