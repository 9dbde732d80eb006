import { parsePartnerSettings, SettingError, settingText } from './partner-settings';
import { smscSettingsFrom } from './smsc-settings';

describe('partner settings, as the CLI types them and as the portal sends them', () => {
  it('reads CLI options (camel-cased) and JSON fields the same way', () => {
    const cli = parsePartnerSettings({ allowedIps: '10.0.0.0/8, ::1', rateLimit: '50', requestParams: 'clientId=to,message=text', testMode: 'yes', statusUrl: 'none' });
    const portal = parsePartnerSettings(
      { allowedIps: ['10.0.0.0/8', '::1'], rateLimit: 50, requestParamNames: { clientId: 'to', message: 'text' }, testMode: true, statusUrl: null },
      'field',
    );
    expect(portal).toEqual(cli);
    expect(portal).toEqual({ allowedIps: ['10.0.0.0/8', '::1'], rateLimit: 50, requestParamNames: { clientId: 'to', message: 'text' }, testMode: true, statusUrl: null });
  });

  it('names the field of a bad value', () => {
    expect(() => parsePartnerSettings({ rateLimit: 0 }, 'field')).toThrow(new SettingError('"0" must be a whole number from 1 to 100000'));
    try {
      parsePartnerSettings({ callbackParamNames: { nosuch: 'x' } }, 'field');
      throw new Error('no error');
    } catch (e) {
      expect((e as SettingError).field).toBe('callbackParamNames');
    }
  });

  it('an empty rename map clears the renames; "generate" makes a signing secret', () => {
    expect(parsePartnerSettings({ requestParamNames: {} }, 'field')).toEqual({ requestParamNames: {} });
    expect(parsePartnerSettings({ requestParamNames: null }, 'field')).toEqual({ requestParamNames: {} });
    const { signingSecret } = parsePartnerSettings({ signingSecret: 'generate' }, 'field');
    expect(signingSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('MO order: partner or subscriber, from the CLI and the portal alike', () => {
    expect(parsePartnerSettings({ moOrder: 'subscriber' })).toEqual({ moOrder: 'subscriber' });
    expect(parsePartnerSettings({ moOrder: 'partner' }, 'field')).toEqual({ moOrder: 'partner' });
    expect(() => parsePartnerSettings({ moOrder: 'random' }, 'field')).toThrow(new SettingError('mo-order is partner or subscriber'));
  });

  it('SMPP binds: 1 to 1000, or back to the server\'s default', () => {
    expect(parsePartnerSettings({ smppMaxBinds: '4' })).toEqual({ smppMaxBinds: 4 });
    expect(parsePartnerSettings({ smppMaxBinds: 4 }, 'field')).toEqual({ smppMaxBinds: 4 });
    for (const none of ['default', 'none', '']) expect(parsePartnerSettings({ smppMaxBinds: none })).toEqual({ smppMaxBinds: null });
    expect(parsePartnerSettings({ smppMaxBinds: null }, 'field')).toEqual({ smppMaxBinds: null });
    for (const bad of ['0', '-1', '1001', 'two', '2.5']) expect(() => parsePartnerSettings({ smppMaxBinds: bad })).toThrow(new SettingError(`"${bad}" must be a whole number from 1 to 1000`));
  });

  it('settingText writes JSON values as the CLI would', () => {
    expect(settingText(['a', 'b'])).toBe('a,b');
    expect(settingText({ clientId: 'to' })).toBe('clientId=to');
    expect(settingText(null)).toBe('');
    expect(settingText(false)).toBe('false');
  });

  it('SMSC settings: CLI errors name the option, portal errors the field', () => {
    expect(() => smscSettingsFrom({ port: '0' })).toThrow('--port: "0" must be a whole number from 1 to 65535');
    expect(() => smscSettingsFrom({ port: 0 }, 'field')).toThrow(/^"0" must be/);
    expect(smscSettingsFrom({ routes: ['7903', '+7905'], enabled: false }, 'field')).toEqual({ routes: ['7903', '7905'], enabled: false });
  });
});
