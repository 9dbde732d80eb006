import {
  GSM7_BASIC,
  GSM7_EXTENSION,
  analyzeText,
  decodeGsm7Unpacked,
  decodeLatin1,
  decodeUcs2,
  encodeGsm7Unpacked,
  encodeUcs2,
  isGsm7,
  splitText,
  type TextAnalysis,
} from './encoding';

const CYR = 'ж';
const EMOJI = '😀'; // U+1F600, a surrogate pair

/** Septets of one GSM-7 segment text. */
const septets = (s: string): number => encodeGsm7Unpacked(s).length;

describe('GSM 03.38 tables', () => {
  it('has the 128-entry default alphabet in code order', () => {
    expect(GSM7_BASIC).toHaveLength(128);
    expect(GSM7_BASIC.indexOf('@')).toBe(0x00);
    expect(GSM7_BASIC.indexOf('£')).toBe(0x01);
    expect(GSM7_BASIC.indexOf('Δ')).toBe(0x10);
    expect(GSM7_BASIC.indexOf('É')).toBe(0x1f);
    expect(GSM7_BASIC.indexOf('¤')).toBe(0x24);
    expect(GSM7_BASIC.indexOf('¡')).toBe(0x40);
    expect(GSM7_BASIC.indexOf('§')).toBe(0x5f);
    expect(GSM7_BASIC.indexOf('¿')).toBe(0x60);
    expect(GSM7_BASIC.indexOf('à')).toBe(0x7f);
    expect(new Set(GSM7_BASIC).size).toBe(128);
  });

  it('has the extension table', () => {
    expect([...GSM7_EXTENSION.keys()].sort().join('')).toBe([...'\f^{}\\[~]|€'].sort().join(''));
    expect(GSM7_EXTENSION.get('€')).toBe(0x65);
  });

  it.each<[string, boolean]>([
    ['', true],
    ['Hello, world! @£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ', true],
    ['^{}\\[~]|€\f', true],
    ['Привет', false],
    ['ç', false], // only the capital Ç is in the alphabet
    ['`', false],
    ['\u001b', false], // the escape code is not a character
    [EMOJI, false],
  ])('isGsm7(%j) = %s', (text, expected) => {
    expect(isGsm7(text)).toBe(expected);
  });
});

describe('analyzeText / splitText', () => {
  const a = (encoding: 'gsm7' | 'ucs2', units: number, segments: number, chars: number): TextAnalysis => ({
    encoding,
    dataCoding: encoding === 'gsm7' ? 0 : 8,
    units,
    segments,
    chars,
  });

  it.each<[string, string, TextAnalysis]>([
    ['empty', '', a('gsm7', 0, 1, 0)],
    ['160 GSM', 'x'.repeat(160), a('gsm7', 160, 1, 160)],
    ['161 GSM', 'x'.repeat(161), a('gsm7', 161, 2, 161)],
    ['153*2 GSM', 'x'.repeat(306), a('gsm7', 306, 2, 306)],
    ['307 GSM', 'x'.repeat(307), a('gsm7', 307, 3, 307)],
    ['80 euro signs = 160 septets', '€'.repeat(80), a('gsm7', 160, 1, 80)],
    ['159 + euro = 161 septets', 'x'.repeat(159) + '€', a('gsm7', 161, 2, 160)],
    ['70 Cyrillic', CYR.repeat(70), a('ucs2', 70, 1, 70)],
    ['71 Cyrillic', CYR.repeat(71), a('ucs2', 71, 2, 71)],
    ['67*2 Cyrillic', CYR.repeat(134), a('ucs2', 134, 2, 134)],
    ['67*2+1 Cyrillic', CYR.repeat(135), a('ucs2', 135, 3, 135)],
    ['one GSM char outside the alphabet turns it all UCS-2', 'x'.repeat(100) + 'ç', a('ucs2', 101, 2, 101)],
    ['35 emoji = 70 units', EMOJI.repeat(35), a('ucs2', 70, 1, 35)],
    ['emoji at the 67th position', CYR.repeat(66) + EMOJI + CYR.repeat(5), a('ucs2', 73, 2, 72)],
  ])('%s', (_name, text, expected) => {
    expect(analyzeText(text)).toEqual(expected);
    const parts = splitText(text);
    expect(parts).toHaveLength(expected.segments);
    expect(parts.join('')).toBe(text);
  });

  it('never splits an escape sequence across GSM-7 segments', () => {
    const parts = splitText('x'.repeat(152) + '€' + 'y'.repeat(10));
    expect(parts).toEqual(['x'.repeat(152), '€' + 'y'.repeat(10)]);
    expect(septets(parts[0])).toBe(152);
    expect(septets(parts[1])).toBe(12);
  });

  it('keeps the 159 + euro case in whole characters', () => {
    const parts = splitText('x'.repeat(159) + '€');
    expect(parts).toEqual(['x'.repeat(153), 'x'.repeat(6) + '€']);
  });

  it('counts segments by packing, not by dividing', () => {
    // 306 septets would be 2 segments by division, but 76 escape pairs fill a segment to 152.
    const text = '€'.repeat(153);
    expect(analyzeText(text)).toEqual(a('gsm7', 306, 3, 153));
    expect(splitText(text).map(septets)).toEqual([152, 152, 2]);
  });

  it('never splits a surrogate pair across UCS-2 segments', () => {
    const text = CYR.repeat(66) + EMOJI + CYR.repeat(5);
    const parts = splitText(text);
    expect(parts).toEqual([CYR.repeat(66), EMOJI + CYR.repeat(5)]);
    expect(parts[0]).toHaveLength(66);
  });

  it('fills UCS-2 segments to 67 units', () => {
    const parts = splitText(CYR.repeat(140));
    expect(parts.map((p) => p.length)).toEqual([67, 67, 6]);
  });

  it('splits GSM-7 into 153-septet segments', () => {
    expect(splitText('x'.repeat(307)).map((p) => p.length)).toEqual([153, 153, 1]);
  });
});

describe('encoders and decoders', () => {
  it('encodes GSM-7 as unpacked septets with escapes', () => {
    expect(encodeGsm7Unpacked('Hi @€!')).toEqual(Buffer.from([0x48, 0x69, 0x20, 0x00, 0x1b, 0x65, 0x21]));
    expect(encodeGsm7Unpacked('£$¥Δ[]\n')).toEqual(Buffer.from([0x01, 0x02, 0x03, 0x10, 0x1b, 0x3c, 0x1b, 0x3e, 0x0a]));
  });

  it('refuses to encode a character outside GSM-7', () => {
    expect(() => encodeGsm7Unpacked('ж')).toThrow(/U\+0436/);
  });

  it('encodes UCS-2 as UTF-16BE', () => {
    expect(encodeUcs2('Привет')).toEqual(Buffer.from('041f04400438043204350442', 'hex'));
    expect(encodeUcs2(`a${EMOJI}`)).toEqual(Buffer.from('0061d83dde00', 'hex'));
  });

  it('round-trips', () => {
    const gsm = GSM7_BASIC.replace('\u001b', '') + [...GSM7_EXTENSION.keys()].join('');
    expect(decodeGsm7Unpacked(encodeGsm7Unpacked(gsm))).toBe(gsm);
    const ucs = `Привет, мир! ${EMOJI} €`;
    expect(decodeUcs2(encodeUcs2(ucs))).toBe(ucs);
  });

  it('decodes odd GSM-7 input leniently', () => {
    // unknown extension code → default-alphabet character; trailing escape dropped; non-septet → U+FFFD
    expect(decodeGsm7Unpacked(Buffer.from([0x1b, 0x41, 0x42, 0x80, 0x1b]))).toBe('AB\ufffd');
  });

  it('decodes a dangling UCS-2 byte as U+FFFD', () => {
    expect(decodeUcs2(Buffer.from([0x04, 0x1f, 0x04]))).toBe('П\ufffd');
  });

  it('decodes Latin-1', () => {
    expect(decodeLatin1(Buffer.from([0x48, 0xe9, 0xa3]))).toBe('Hé£');
    expect(decodeLatin1(new Uint8Array([0x00, 0x41]).subarray(1))).toBe('A');
  });
});
