import type { Resolver } from '@smsgw/sms';
import { checkCallbackTargets } from './callback-targets';
import { parsePartnerSettings, SettingError } from './partner-settings';

const fixed = (...addresses: string[]): Resolver => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
const publicDns = fixed('93.184.216.34');

/** The SettingError a check throws, or a failure if it passes. */
async function refusal(settings: Record<string, unknown>, resolve: Resolver = publicDns): Promise<SettingError> {
  const e = await checkCallbackTargets(settings, { allowPrivate: false, resolve }).then(
    () => new Error('accepted'),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(SettingError);
  return e as SettingError;
}

describe('status and MO URLs: internal targets refused when saved', () => {
  it.each([
    ['statusUrl', 'http://169.254.169.254/latest', 'cloud metadata'],
    ['statusUrl', 'http://127.0.0.1:8080/dlr', 'loopback'],
    ['statusUrl', 'http://2130706433/', 'loopback'],
    ['statusUrl', 'http://0x7f.1/', 'loopback'],
    ['moUrl', 'http://[::ffff:127.0.0.1]/mo', 'loopback'],
    ['moUrl', 'https://10.1.2.3/mo', 'private'],
    ['moUrl', 'http://[fd00:ec2::254]/', 'cloud metadata'],
    ['statusUrl', 'http://localhost:3000/dlr', 'loopback'],
    ['statusUrl', 'http://metadata.google.internal/computeMetadata/v1/', 'cloud metadata'],
  ])('%s %s (%s)', async (field, url, reason) => {
    // As the CLI types it: the URL parses, then the check refuses it, naming the field.
    const settings = parsePartnerSettings({ [field === 'statusUrl' ? 'statusUrl' : 'moUrl']: url });
    const e = await refusal(settings, async () => {
      throw new Error('IP literals and refused names are not looked up');
    });
    expect(e.field).toBe(field);
    expect(e.message).toContain(field === 'statusUrl' ? 'the status URL' : 'the MO URL');
    expect(e.message).toContain(reason);
    expect(e.message).toContain('CALLBACK_ALLOW_PRIVATE_TARGETS is off');
  });

  it('a name is resolved: every address must be public', async () => {
    await expect(checkCallbackTargets({ statusUrl: 'https://hooks.partner.example/dlr', moUrl: null }, { allowPrivate: false, resolve: publicDns })).resolves.toBeUndefined();
    const e = await refusal({ moUrl: 'https://hooks.partner.example/mo' }, fixed('93.184.216.34', '192.168.0.10'));
    expect(e.field).toBe('moUrl');
    expect(e.message).toContain('hooks.partner.example (192.168.0.10) is private');
  });

  it('a name that does not resolve cannot be checked, and is refused with a hint to retry', async () => {
    const e = await refusal({ statusUrl: 'https://nowhere.example/dlr' }, async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' });
    });
    expect(e.field).toBe('statusUrl');
    expect(e.message).toMatch(/could not be resolved \(ENOTFOUND\).*retry if DNS was down/);
  });

  it('smpp: (reports and MO over the partner\'s SMPP binds) is taken in any case and has no host to check', async () => {
    const settings = parsePartnerSettings({ statusUrl: ' SMPP: ', moUrl: 'smpp:' });
    expect(settings).toMatchObject({ statusUrl: 'smpp:', moUrl: 'smpp:' });
    await expect(checkCallbackTargets(settings, { allowPrivate: false, resolve: async () => { throw new Error('nothing to resolve'); } })).resolves.toBeUndefined();
    expect(() => parsePartnerSettings({ statusUrl: 'smpp://host' })).toThrow('must be an http or https URL, or smpp: for the partner\'s SMPP binds');
  });

  it('CALLBACK_ALLOW_PRIVATE_TARGETS on: nothing is checked', async () => {
    await expect(checkCallbackTargets({ statusUrl: 'http://127.0.0.1:9/dlr', moUrl: 'http://10.0.0.1/mo' }, { allowPrivate: true })).resolves.toBeUndefined();
  });

  it('read from the environment when the caller does not say; a bad value is a setting error', async () => {
    const saved = process.env.CALLBACK_ALLOW_PRIVATE_TARGETS;
    try {
      process.env.CALLBACK_ALLOW_PRIVATE_TARGETS = 'true';
      await expect(checkCallbackTargets({ statusUrl: 'http://127.0.0.1/dlr' })).resolves.toBeUndefined();
      delete process.env.CALLBACK_ALLOW_PRIVATE_TARGETS;
      await expect(checkCallbackTargets({ statusUrl: 'http://127.0.0.1/dlr' })).rejects.toThrow(/loopback/);
      process.env.CALLBACK_ALLOW_PRIVATE_TARGETS = 'perhaps';
      await expect(checkCallbackTargets({ statusUrl: 'http://127.0.0.1/dlr' })).rejects.toThrow(SettingError);
    } finally {
      if (saved === undefined) delete process.env.CALLBACK_ALLOW_PRIVATE_TARGETS;
      else process.env.CALLBACK_ALLOW_PRIVATE_TARGETS = saved;
    }
  });

  it('settings without URLs, or clearing them, need no check', async () => {
    await expect(checkCallbackTargets({ rateLimit: 5, statusUrl: null }, { allowPrivate: false, resolve: fixed() })).resolves.toBeUndefined();
  });
});
