import { normalizeMsisdn, type NormalizeMsisdnResult } from './msisdn';

const ok = (msisdn: string): NormalizeMsisdnResult => ({ ok: true, msisdn });
const no = (reason: 'malformed' | 'invalid' | 'not_mobile'): NormalizeMsisdnResult => ({ ok: false, reason });

describe('normalizeMsisdn', () => {
  it.each<[string, string, NormalizeMsisdnResult]>([
    // PROTOCOL §1 forms
    ['79036550550', 'RU', ok('79036550550')],
    ['+79036550550', 'RU', ok('79036550550')],
    ['8-903-655-05-50', 'RU', ok('79036550550')],
    ['89036550550', 'RU', ok('79036550550')],
    // separators, 00 prefix, a `+` that arrived as a space, a national number without trunk prefix
    ['8 (903) 655-05-50', 'RU', ok('79036550550')],
    ['+7 (903) 655.05.50', 'RU', ok('79036550550')],
    ['0079036550550', 'RU', ok('79036550550')],
    [' 79036550550', 'RU', ok('79036550550')],
    ['9036550550', 'RU', ok('79036550550')],
    ['+79036550550', 'ru', ok('79036550550')],
    // other countries
    ['07911 123456', 'GB', ok('447911123456')],
    ['447911123456', 'RU', ok('447911123456')],
    ['+49 1512 3456789', 'RU', ok('4915123456789')],
    ['015123456789', 'DE', ok('4915123456789')],
    ['79036550550', 'DE', ok('79036550550')],
    ['+1 650 253 0000', 'RU', ok('16502530000')], // NANP: FIXED_LINE_OR_MOBILE
    ['87012345678', 'RU', ok('77012345678')], // Kazakhstan mobile under the shared +7
    ['+79036550550', 'XX', ok('79036550550')], // unknown default country does not matter with +
    // not mobile
    ['+7 495 123-45-67', 'RU', no('not_mobile')],
    ['8 495 123-45-67', 'RU', no('not_mobile')],
    ['88005553535', 'RU', no('not_mobile')], // toll free
    // trunk 8 wins over calling code 84: a Moscow landline, not the Vietnamese mobile +84 951234567
    ['84951234567', 'RU', no('not_mobile')],
    ['+84951234567', 'RU', ok('84951234567')],
    // malformed
    ['abc', 'RU', no('malformed')],
    ['7903655055O', 'RU', no('malformed')],
    ['7903+6550550', 'RU', no('malformed')],
    ['+7903655055#', 'RU', no('malformed')],
    ['', 'RU', no('malformed')],
    ['+', 'RU', no('malformed')],
    ['7'.repeat(26), 'RU', no('malformed')],
    // invalid
    ['12345', 'RU', no('invalid')],
    ['+7903', 'RU', no('invalid')],
    ['+790365505501234', 'RU', no('invalid')],
    ['9036550550', 'XX', no('invalid')],
  ])('%j with default %s', (raw, country, expected) => {
    expect(normalizeMsisdn(raw, country)).toEqual(expected);
  });

  it('accepts exactly 25 characters', () => {
    const raw = '+7 (903) 655 - 05 - 50   ';
    expect(raw).toHaveLength(25);
    expect(normalizeMsisdn(raw, 'RU')).toEqual(ok('79036550550'));
  });
});
