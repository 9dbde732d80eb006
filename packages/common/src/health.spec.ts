import { HealthController } from './health';
import type { HealthCheck } from './dependencies';
import { metricsRegistry } from './metrics';

const res = () => {
  const r = { code: 200, status(code: number) { r.code = code; return r; } };
  return r;
};
const up = (name: string): HealthCheck => ({ name, check: async () => undefined });
const failing = (name: string, why: string): HealthCheck => ({ name, address: '10.0.0.5:5432', check: async () => { throw new Error(why); } });

describe('HealthController', () => {
  it('is live whatever its dependencies say', () => {
    expect(new HealthController([failing('postgres', 'connect ECONNREFUSED 10.0.0.5:5432')]).live()).toEqual({ status: 'ok' });
  });

  it('is ready when every dependency and readiness check passes', async () => {
    const r = res();
    expect(await new HealthController([up('postgres'), up('redis')], undefined, [up('smsc')]).ready(r)).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok', smsc: 'ok' });
    expect(r.code).toBe(200);
  });

  it('answers 503 naming what is down, never why (that goes to the log)', async () => {
    const r = res();
    const c = new HealthController([failing('postgres', 'connect ECONNREFUSED 10.0.0.5:5432'), up('redis')], undefined, [failing('smsc', 'none of the 2 SMSC connections is bound')]);
    const answer = await c.health(r);
    expect(answer).toEqual({ status: 'down', postgres: 'down', redis: 'ok', smsc: 'down' });
    expect(r.code).toBe(503);
    expect(JSON.stringify(answer)).not.toMatch(/10\.0\.0\.5|ECONNREFUSED|SMSC/);
  });

  it('reports each dependency of the latest service on /metrics as smsgw_dependency_up, checked at the scrape', async () => {
    let redisUp = true;
    let redisChecks = 0;
    const redis: HealthCheck = { name: 'redis', check: async () => { redisChecks++; if (!redisUp) throw new Error('down'); } };
    const c = new HealthController([failing('postgres', 'connect ECONNREFUSED 10.0.0.5:5432'), redis]);
    const text = async () => metricsRegistry.getSingleMetricAsString('smsgw_dependency_up');
    expect(await text()).toContain('smsgw_dependency_up{dependency="postgres"} 0');
    expect(await text()).toContain('smsgw_dependency_up{dependency="redis"} 1');
    redisUp = false;
    expect(await text()).toContain('smsgw_dependency_up{dependency="redis"} 0');
    expect(redisChecks).toBe(3);
    c.onModuleDestroy(); // a service closed: its checks are no longer run
    await text();
    expect(redisChecks).toBe(3);
  });
});
