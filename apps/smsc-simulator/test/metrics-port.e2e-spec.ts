// METRICS_PORT on the simulator: /metrics moves to its own listener, the control API port
// answers it with 404; unset, it stays on the control API port.
import { MetricsServer } from '@smsgw/common';
import { loadSimulatorConfig } from '../src/config';
import type { RunningSimulator } from '../src/simulator';
import { startTestSimulator } from './harness';

describe('METRICS_PORT', () => {
  let sim: RunningSimulator | undefined;

  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('is read from the environment (METRICS_HOST defaults to loopback)', () => {
    expect(loadSimulatorConfig({ METRICS_PORT: '9464' })).toMatchObject({ metricsPort: 9464, metricsHost: '127.0.0.1' });
    expect(loadSimulatorConfig({ METRICS_PORT: '' })).toMatchObject({ metricsPort: undefined });
  });

  it('set: /metrics only on its own port', async () => {
    sim = await startTestSimulator({ metricsPort: 0, metricsHost: '127.0.0.1' });
    expect((await fetch(`http://127.0.0.1:${sim.httpPort}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${sim.httpPort}/health`)).status).toBe(200);
    const port = sim.app.get(MetricsServer).port;
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toMatch(/# TYPE smsc_sim_submits_total counter/);
  });

  it('unset: /metrics on the control API port, as before', async () => {
    sim = await startTestSimulator();
    const r = await fetch(`http://127.0.0.1:${sim.httpPort}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toMatch(/# TYPE smsc_sim_submits_total counter/);
  });
});
