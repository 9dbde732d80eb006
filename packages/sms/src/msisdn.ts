import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';

export type MsisdnRejection = 'malformed' | 'invalid' | 'not_mobile';
export type NormalizeMsisdnResult = { ok: true; msisdn: string } | { ok: false; reason: MsisdnRejection };

/** PROTOCOL §1: `clientId` is at most 25 characters as sent. */
export const MSISDN_MAX_INPUT_LENGTH = 25;

// Any whitespace counts as a separator: an unencoded `+` in a query string arrives as a space.
const SEPARATORS = /[\s\-.()]/g;
const CLEAN = /^\+?\d+$/;

type Verdict = 'mobile' | 'not_mobile' | 'invalid';

/**
 * Normalises a subscriber number to E.164 digits without the plus (`79036550550`).
 *
 * Without `+`/`00` the digits are read as an international number first, then as a national
 * number of `defaultCountry`. One exception: digits that start with the default country's trunk
 * prefix are national if they read validly that way, because trunk `8` (RU, KZ, BY) collides with
 * calling codes 81, 82, 84 and 86: for RU, `84951234567` is the Moscow landline +7 495 123-45-67 (so
 * `not_mobile`), not the Vietnamese mobile +84 951234567. A partner forces the international
 * reading with `+` or `00`. Only mobile numbers are accepted.
 */
export function normalizeMsisdn(raw: string, defaultCountry: string): NormalizeMsisdnResult {
  if (raw.length > MSISDN_MAX_INPUT_LENGTH) return { ok: false, reason: 'malformed' };
  const stripped = raw.replace(SEPARATORS, '');
  if (!CLEAN.test(stripped)) return { ok: false, reason: 'malformed' };

  let reading: Reading;
  if (stripped.startsWith('+') || stripped.startsWith('00')) {
    reading = read(stripped.startsWith('+') ? stripped : `+${stripped.slice(2)}`);
  } else {
    const country = defaultCountry.toUpperCase();
    const national = isSupportedCountry(country) ? read(stripped, country) : INVALID;
    if (national.verdict !== 'invalid' && national.phone !== undefined && hasTrunkPrefix(stripped, national.phone)) {
      reading = national;
    } else if (national.phone !== undefined && national.phone.number === `+${stripped}`) {
      // The national reading took the digits as the calling code and a national number: that is
      // the international reading of the same digits, so the second parse is skipped (it was half
      // of the cost of this function for numbers sent with their calling code and no `+`).
      reading = national;
    } else {
      const international = read(`+${stripped}`);
      reading = international.verdict === 'invalid' ? national : international;
    }
  }

  const { phone, verdict } = reading;
  if (verdict !== 'mobile' || phone === undefined) {
    return { ok: false, reason: verdict === 'not_mobile' ? 'not_mobile' : 'invalid' };
  }
  return { ok: true, msisdn: phone.number.slice(1) };
}

interface Reading {
  phone: PhoneNumber | undefined;
  verdict: Verdict;
}

const INVALID: Reading = { phone: undefined, verdict: 'invalid' };

function read(text: string, defaultCountry?: CountryCode): Reading {
  const phone = parse(text, defaultCountry);
  return { phone, verdict: classify(phone) };
}

/** Whether a national reading dropped leading digits other than the country calling code. */
function hasTrunkPrefix(digits: string, phone: PhoneNumber): boolean {
  if (!digits.endsWith(phone.nationalNumber)) return false;
  const lead = digits.slice(0, digits.length - phone.nationalNumber.length);
  return lead !== '' && lead !== phone.countryCallingCode;
}

// The `max` entry point binds the full metadata once at module load; nothing here rebuilds it per
// call. `extract: false`: the whole input must be the number, not contain one.
function parse(text: string, defaultCountry?: CountryCode): PhoneNumber | undefined {
  return parsePhoneNumberFromString(text, { defaultCountry, extract: false });
}

function classify(phone: PhoneNumber | undefined): Verdict {
  if (phone === undefined) return 'invalid';
  // getType() runs the same per-type patterns isValid() does when the metadata has type info, so a
  // defined type already implies validity and saves a second pass over the patterns.
  const type = phone.getType();
  if (type === 'MOBILE' || type === 'FIXED_LINE_OR_MOBILE') return 'mobile';
  if (type !== undefined) return 'not_mobile';
  // Valid with no type: the metadata has no type patterns for this calling code, so
  // isValid() fell back to the general national pattern; mobile cannot be ruled out.
  return phone.isValid() ? 'mobile' : 'invalid';
}
