import { getCountries, getCountryCallingCode, parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';
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

  it('reads digits without + exactly as reading them both ways would, for every country', () => {
    // The function skips the international parse when the national one read the calling code. The
    // oracle is the rule as written in the doc comment, with both parses always made.
    const classify = (p: PhoneNumber | undefined): 'mobile' | 'not_mobile' | 'invalid' => {
      if (!p) return 'invalid';
      const type = p.getType();
      if (type === 'MOBILE' || type === 'FIXED_LINE_OR_MOBILE') return 'mobile';
      if (type !== undefined) return 'not_mobile';
      return p.isValid() ? 'mobile' : 'invalid';
    };
    const oracle = (digits: string, country: CountryCode): NormalizeMsisdnResult => {
      const read = (text: string, dc?: CountryCode) => {
        const phone = parsePhoneNumberFromString(text, { defaultCountry: dc, extract: false });
        return { phone, verdict: classify(phone) };
      };
      const national = read(digits, country);
      const lead = national.phone && digits.endsWith(national.phone.nationalNumber) ? digits.slice(0, digits.length - national.phone.nationalNumber.length) : null;
      const trunk = lead !== null && lead !== '' && lead !== national.phone!.countryCallingCode;
      let reading = national;
      if (!(national.verdict !== 'invalid' && trunk)) {
        const international = read(`+${digits}`);
        if (international.verdict !== 'invalid') reading = international;
      }
      return reading.verdict === 'mobile' ? ok(reading.phone!.number.slice(1)) : no(reading.verdict);
    };
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const digitsOf = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
    let withCallingCode = 0;
    for (const country of getCountries() as CountryCode[]) {
      const cc = getCountryCallingCode(country);
      for (let i = 0; i < 30; i++) {
        // Mostly the calling code and a national number (the case the shortcut takes), some national
        // numbers, some anything.
        const digits = i % 3 === 2 ? digitsOf(7 + (i % 7)) : i % 3 === 1 ? `${1 + (i % 9)}${digitsOf(6 + (i % 6))}` : `${cc}${1 + (i % 9)}${digitsOf(5 + (i % 8))}`;
        expect([digits, country, normalizeMsisdn(digits, country)]).toEqual([digits, country, oracle(digits, country)]);
        if (digits.startsWith(cc)) withCallingCode++;
      }
    }
    expect(withCallingCode).toBeGreaterThan(2000);
  });
});
