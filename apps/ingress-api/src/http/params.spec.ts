import { decodeComponent, parseUrlEncoded } from './params';

describe('parseUrlEncoded', () => {
  it.each([
    ['a=1&b=2', { a: '1', b: '2' }],
    ['message=Hello+world', { message: 'Hello world' }],
    ['clientId=%2B79036550550', { clientId: '+79036550550' }],
    ['message=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82', { message: 'Привет' }],
    ['message=%F0%9F%98%80', { message: '😀' }],
    ['a=1&a=2', { a: '1' }],
    ['flag&x=', { flag: '', x: '' }],
    ['', {}],
  ])('%s', (input, expected) => {
    expect(Object.fromEntries(parseUrlEncoded(input).values)).toEqual(expected);
  });

  it('keeps values that are not UTF-8 apart', () => {
    const p = parseUrlEncoded('message=%FF%FE&ok=1');
    expect(p.invalid.has('message')).toBe(true);
    expect(p.get('message')).toBeUndefined();
    expect(p.get('ok')).toBe('1');
  });

  it('treats a broken escape as invalid', () => {
    expect(decodeComponent('%E')).toBeNull();
    expect(decodeComponent('%zz')).toBeNull();
  });

  it('reads raw UTF-8 bytes in a request line', () => {
    expect(decodeComponent(Buffer.from('Привет', 'utf8').toString('latin1'))).toBe('Привет');
  });

  it('body parameters override the query string', () => {
    const q = parseUrlEncoded('a=1&b=2');
    q.merge(parseUrlEncoded('b=3'));
    expect(Object.fromEntries(q.values)).toEqual({ a: '1', b: '3' });
  });
});
