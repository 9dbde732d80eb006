import { createHmac } from 'node:crypto';
import {
  appendCallbackParams,
  buildCallbackUrl,
  callbackBaseUrl,
  callbackPathAndQuery,
  formatCallbackDate,
  moCallbackHash,
  signCallback,
  verifyCallbackSignature,
} from './callback';

describe('buildCallbackUrl', () => {
  it('appends the parameters in order, leaving out absent ones', () => {
    const url = buildCallbackUrl('https://partner.example/dlr', [
      ['transactionId', '1000'],
      ['status', 2],
      ['msgType', 'SMS'],
      ['ptag', null],
      ['partnerMsgId', undefined],
      ['segments', 1],
      ['doneDate', '2026-11-25 10:00:00'],
    ]);
    expect(url).toBe('https://partner.example/dlr?transactionId=1000&status=2&msgType=SMS&segments=1&doneDate=2026-11-25%2010%3A00%3A00');
  });

  it("keeps the URL's own query string as written and drops the fragment", () => {
    expect(buildCallbackUrl('http://p.example:8080/cb?key=a%2Bb&x=1#frag', [['status', 5]])).toBe('http://p.example:8080/cb?key=a%2Bb&x=1&status=5');
    expect(buildCallbackUrl('http://p.example/cb?', [['status', 5]])).toBe('http://p.example/cb?status=5');
  });

  it("uses the partner's names for renamed parameters only", () => {
    const url = buildCallbackUrl('http://p.example/', [['transactionId', '7'], ['clientId', '79030000000'], ['status', 2]], { transactionId: 'id', clientId: 'msisdn', ptag: '' });
    expect(url).toBe('http://p.example/?id=7&msisdn=79030000000&status=2');
  });

  it('percent-encodes UTF-8 text, spaces as %20, and reserved characters', () => {
    const url = buildCallbackUrl('http://p.example/mo', [['message', 'Привет & 100% ok+'], ['clientId', '+7 903']]);
    expect(url).toBe('http://p.example/mo?message=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82%20%26%20100%25%20ok%2B&clientId=%2B7%20903');
    expect(new URL(url).searchParams.get('message')).toBe('Привет & 100% ok+');
  });

  it('is callbackBaseUrl (once per partner) plus appendCallbackParams (per callback)', () => {
    const base = callbackBaseUrl('https://p.example/a/b?x=1#f');
    expect(base).toBe('https://p.example/a/b?x=1');
    expect(appendCallbackParams(base, [['status', 2]], { status: 'st' })).toBe('https://p.example/a/b?x=1&st=2');
    expect(appendCallbackParams(callbackBaseUrl('https://p.example'), [['status', 2]])).toBe('https://p.example/?status=2');
    expect(appendCallbackParams(base, [])).toBe(base);
  });

  it('refuses URLs that are not http(s)', () => {
    expect(() => buildCallbackUrl('ftp://p.example/', [])).toThrow(/http or https/);
    expect(() => buildCallbackUrl('not a url', [])).toThrow();
  });
});

describe('signCallback / verifyCallbackSignature', () => {
  const secret = 's3cr3t-0123456789';
  const target = '/dlr?key=1&transactionId=1000&status=2';

  it('signs t.<path and query> with HMAC-SHA256 in hex', () => {
    const expected = createHmac('sha256', secret).update(`1764064800.${target}`).digest('hex');
    expect(signCallback(secret, target, 1764064800.9)).toBe(`t=1764064800,v1=${expected}`);
  });

  it('verifies its own signature within the age limit', () => {
    const header = signCallback(secret, target, 1_000_000);
    expect(verifyCallbackSignature(secret, header, target, 1_000_000)).toBe(true);
    expect(verifyCallbackSignature(secret, header, target, 1_000_300)).toBe(true);
    expect(verifyCallbackSignature(secret, header, target, 999_700)).toBe(true);
  });

  it('rejects replays, other targets, other secrets and malformed headers', () => {
    const header = signCallback(secret, target, 1_000_000);
    expect(verifyCallbackSignature(secret, header, target, 1_000_301)).toBe(false);
    expect(verifyCallbackSignature(secret, header, target, 1_000_100, 60)).toBe(false);
    expect(verifyCallbackSignature(secret, header, `${target}&x=1`, 1_000_000)).toBe(false);
    expect(verifyCallbackSignature('other', header, target, 1_000_000)).toBe(false);
    for (const bad of [undefined, null, '', 't=1000000', `v1=${'0'.repeat(64)}`, 't=abc,v1=00', header.replace('v1=', 'v2=')]) {
      expect(verifyCallbackSignature(secret, bad, target, 1_000_000)).toBe(false);
    }
  });

  it('accepts any of several v1 values (secret rotation) and ignores spacing and case', () => {
    const header = signCallback(secret, target, 1_000_000);
    const v1 = header.split('v1=')[1] as string;
    expect(verifyCallbackSignature(secret, `t=1000000, v1=${'a'.repeat(64)}, v1=${v1.toUpperCase()}`, target, 1_000_000)).toBe(true);
  });

  it('covers the request target exactly as buildCallbackUrl produced it', () => {
    const url = buildCallbackUrl('http://p.example/mo?k=1', [['message', 'да нет'], ['clientId', '79030000000']]);
    const pq = callbackPathAndQuery(url);
    expect(pq).toBe('/mo?k=1&message=%D0%B4%D0%B0%20%D0%BD%D0%B5%D1%82&clientId=79030000000');
    expect(verifyCallbackSignature(secret, signCallback(secret, pq, 5), pq, 5)).toBe(true);
  });
});

describe('moCallbackHash', () => {
  it('is base64 HMAC-SHA256 of clientId + message + messageId', () => {
    const expected = createHmac('sha256', 'k').update('79030000000Привет42', 'utf8').digest('base64');
    expect(moCallbackHash('k', '79030000000', 'Привет', '42')).toBe(expected);
  });
});

describe('formatCallbackDate', () => {
  it('writes UTC as YYYY-MM-DD HH:MM:SS', () => {
    expect(formatCallbackDate(new Date('2026-11-25T07:08:09.999+03:00'))).toBe('2026-11-25 04:08:09');
  });
});
