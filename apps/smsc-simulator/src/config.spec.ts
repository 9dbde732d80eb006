import { ConfigError } from '@smsgw/common';
import { loadSimulatorConfig } from './config';

describe('loadSimulatorConfig', () => {
  it('has the documented defaults', () => {
    expect(loadSimulatorConfig({})).toMatchObject({
      smppPort: 2775,
      httpPort: 8025,
      accounts: [{ systemId: 'smsgw', password: 'smsgw' }],
      window: 100,
      responseDelayMs: 0,
      tps: 0,
      idFormat: 'hex',
      dlrDelayMs: 200,
      outcomes: [{ stat: 'DELIVRD', err: 0, weight: 1 }],
      seed: null,
      recordLimit: 100_000,
    });
  });

  it('reads accounts and the outcome mix', () => {
    const c = loadSimulatorConfig({ SIM_ACCOUNTS: 'a:1, b:p:w', SIM_OUTCOMES: 'DELIVRD=0.95,UNDELIV:001=0.03,EXPIRED=0.02', SIM_SEED: '7' });
    expect(c.accounts).toEqual([
      { systemId: 'a', password: '1' },
      { systemId: 'b', password: 'p:w' },
    ]);
    expect(c.outcomes).toEqual([
      { stat: 'DELIVRD', err: 0, weight: 0.95 },
      { stat: 'UNDELIV', err: 1, weight: 0.03 },
      { stat: 'EXPIRED', err: 0, weight: 0.02 },
    ]);
    expect(c.seed).toBe(7);
  });

  it('refuses what it does not understand', () => {
    expect(() => loadSimulatorConfig({ SIM_OUTCOMES: 'DELIVERED=1' })).toThrow(ConfigError);
    expect(() => loadSimulatorConfig({ SIM_ACCOUNTS: 'nopassword' })).toThrow(ConfigError);
    expect(() => loadSimulatorConfig({ SIM_ID_FORMAT: 'base64' })).toThrow(ConfigError);
  });
});
