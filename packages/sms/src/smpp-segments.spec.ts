import { analyzeText } from './encoding';
import {
  buildConcatPartSegment,
  buildSubmitSegments,
  fitsConcatSegment,
  parseSmppTime,
  smppAbsoluteTime,
  smppRelativeTime,
  submitSegmentCount,
  type SubmitSegment,
} from './smpp-segments';

// The `smpp` package (no type declarations) is used only here, to check our bytes against its encoder.
const smpp = require('smpp') as {
  PDU: {
    new (command: string, options: Record<string, unknown>): { toBuffer(): Buffer };
    fromBuffer(buf: Buffer): Record<string, unknown> | false;
  };
};
const smppDefs = require('smpp/lib/defs') as { filters: { time: { encode(d: Date): string; decode(s: string): Date } } };

const hex = (b: Buffer): string => b.toString('hex');
const unhex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const CYRILLIC = 'абвгдеёжзийклмнопрстуфхцчшщъыьэюя';
const cyr = (n: number): string => CYRILLIC.repeat(Math.ceil(n / CYRILLIC.length)).slice(0, n);
const EMOJI = '😀'; // U+1F600 = D83D DE00

describe('buildSubmitSegments', () => {
  it('"Hello" → one GSM-7 segment, no UDH', () => {
    expect(buildSubmitSegments('Hello', { reference: 7 })).toEqual<SubmitSegment[]>([
      { dataCoding: 0, esmClass: 0, shortMessage: unhex('48 65 6c 6c 6f'), seq: 1, total: 1 },
    ]);
  });

  it.each<[string, string, number, string]>([
    ['GSM-7 basic characters as unpacked septets', '@£$_Ä', 0, '00 01 02 11 5b'],
    ['extension characters behind 0x1B', '€[]{}', 0, '1b 65 1b 3c 1b 3e 1b 28 1b 29'],
    ['160 septets still one segment', 'x'.repeat(160), 0, '78'.repeat(160)],
    ['UCS-2 as UTF-16BE', 'Привет', 8, '04 1f 04 40 04 38 04 32 04 35 04 42'],
    ['UCS-2 emoji as a surrogate pair', `a${EMOJI}`, 8, '00 61 d8 3d de 00'],
    ['70 UCS-2 units still one segment', cyr(70), 8, hex(Buffer.from(cyr(70), 'utf16le').swap16())],
    ['empty text: one empty segment', '', 0, ''],
  ])('single segment: %s', (_name, text, dataCoding, bytes) => {
    const segments = buildSubmitSegments(text, { reference: 1 });
    expect(segments).toHaveLength(1);
    expect(segments[0]).toEqual({ dataCoding, esmClass: 0, shortMessage: unhex(bytes), seq: 1, total: 1 });
  });

  it('161 GSM-7 characters → 2 segments of 153 + 8 septets with UDH 05 00 03 ref 02 0n', () => {
    const text = 'abcdefghij'.repeat(16) + 'Z';
    const segments = buildSubmitSegments(text, { reference: 0xa7 });
    expect(segments.map((s) => [s.dataCoding, s.esmClass, s.seq, s.total])).toEqual([
      [0, 0x40, 1, 2],
      [0, 0x40, 2, 2],
    ]);
    expect(hex(segments[0].shortMessage.subarray(0, 6))).toBe('050003a70201');
    expect(hex(segments[1].shortMessage.subarray(0, 6))).toBe('050003a70202');
    expect(segments[0].shortMessage.subarray(6).toString('latin1')).toBe(text.slice(0, 153));
    expect(segments[1].shortMessage.subarray(6).toString('latin1')).toBe(text.slice(153));
    expect(segments.map((s) => s.shortMessage.length - 6)).toEqual([153, 8]);
  });

  it('keeps 1B 65 of a € together at the split boundary', () => {
    // 152 septets + € (2 septets) would be 154 > 153: the € opens segment 2.
    const text = 'a'.repeat(152) + '€' + 'b'.repeat(10);
    const [first, second] = buildSubmitSegments(text, { reference: 3 });
    expect(first.shortMessage.length - 6).toBe(152);
    expect(first.shortMessage[first.shortMessage.length - 1]).toBe(0x61);
    expect(hex(second.shortMessage)).toBe('050003030202' + '1b65' + '62'.repeat(10));
  });

  it('puts a € that fits exactly at the end of segment 1', () => {
    const text = 'a'.repeat(151) + '€' + 'b'.repeat(10);
    const [first, second] = buildSubmitSegments(text, { reference: 3 });
    expect(hex(first.shortMessage.subarray(-3))).toBe('611b65');
    expect(first.shortMessage.length - 6).toBe(153);
    expect(second.shortMessage.length - 6).toBe(10);
  });

  it('71 Cyrillic characters → 2 UCS-2 segments of 67 + 4 characters', () => {
    const text = cyr(71);
    const segments = buildSubmitSegments(text, { reference: 0x10 });
    expect(segments).toHaveLength(2);
    expect(segments.map((s) => [s.dataCoding, s.esmClass])).toEqual([
      [8, 0x40],
      [8, 0x40],
    ]);
    expect(hex(segments[0].shortMessage.subarray(0, 6))).toBe('050003100201');
    expect(segments[0].shortMessage.length).toBe(6 + 134);
    expect(hex(segments[0].shortMessage.subarray(6, 12))).toBe('043004310432'); // а б в
    expect(hex(segments[1].shortMessage)).toBe('050003100202' + hex(Buffer.from(text.slice(67), 'utf16le').swap16()));
    expect(segments[1].shortMessage.length).toBe(6 + 8);
    // 'ё' (U+0451) sits at index 6 of the alphabet string.
    expect(hex(segments[0].shortMessage.subarray(6 + 12, 6 + 14))).toBe('0451');
  });

  it('never splits an emoji that would straddle unit 67', () => {
    const text = 'ж'.repeat(66) + EMOJI + 'ж'.repeat(10);
    const [first, second] = buildSubmitSegments(text, { reference: 9 });
    expect(first.shortMessage.length).toBe(6 + 66 * 2);
    expect(hex(second.shortMessage.subarray(6, 10))).toBe('d83dde00');
    expect(second.shortMessage.length).toBe(6 + 4 + 20);
  });

  it('keeps an emoji that fits exactly (units 66-67) in segment 1', () => {
    const text = 'ж'.repeat(65) + EMOJI + 'ж'.repeat(10);
    const [first] = buildSubmitSegments(text, { reference: 9 });
    expect(first.shortMessage.length).toBe(6 + 134);
    expect(hex(first.shortMessage.subarray(-4))).toBe('d83dde00');
  });

  it.each<[string, string, number, number]>([
    ['GSM-7', 'Hello', 0x10, 1],
    ['UCS-2', 'Привет', 0x18, 1],
    ['GSM-7, concatenated', 'x'.repeat(200), 0x10, 2],
    ['UCS-2, concatenated', cyr(100), 0x18, 2],
  ])('flash %s → data_coding %i', (_name, text, dataCoding, total) => {
    const segments = buildSubmitSegments(text, { flash: true, reference: 1 });
    expect(segments).toHaveLength(total);
    for (const s of segments) {
      expect(s.dataCoding).toBe(dataCoding);
      expect(s.esmClass).toBe(total > 1 ? 0x40 : 0);
    }
  });

  it('uses the same reference in every segment and numbers them 1..n', () => {
    const segments = buildSubmitSegments('y'.repeat(153 * 4 + 1), { reference: 255 });
    expect(segments.map((s) => hex(s.shortMessage.subarray(0, 6)))).toEqual([
      '050003ff0501',
      '050003ff0502',
      '050003ff0503',
      '050003ff0504',
      '050003ff0505',
    ]);
  });

  it.each([-1, 256, 1.5, Number.NaN])('rejects reference %p', (reference) => {
    expect(() => buildSubmitSegments('Hello', { reference })).toThrow(RangeError);
  });

  it('rejects a text needing more than 255 segments', () => {
    expect(() => buildSubmitSegments('ж'.repeat(67 * 256), { reference: 0 })).toThrow(RangeError);
  });

  it.each<[string, string]>([
    ['Hello', 'Hello'],
    ['empty', ''],
    ['160 GSM-7', 'x'.repeat(160)],
    ['161 GSM-7', 'x'.repeat(161)],
    ['80 €', '€'.repeat(80)],
    ['81 €', '€'.repeat(81)],
    ['€ at the boundary', 'a'.repeat(152) + '€' + 'b'.repeat(10)],
    ['70 Cyrillic', cyr(70)],
    ['71 Cyrillic', cyr(71)],
    ['2000 Cyrillic', cyr(2000)],
    ['emoji at unit 67', 'ж'.repeat(66) + EMOJI + 'ж'.repeat(10)],
    ['35 emoji', EMOJI.repeat(35)],
    ['36 emoji', EMOJI.repeat(36)],
  ])('segment count of %s matches analyzeText and the payload limits', (_name, text) => {
    const segments = buildSubmitSegments(text, { reference: 0 });
    expect(segments).toHaveLength(analyzeText(text).segments);
    expect(submitSegmentCount(text)).toBe(analyzeText(text).segments);
    const { encoding } = analyzeText(text);
    const limit = segments.length === 1 ? (encoding === 'gsm7' ? 160 : 140) : encoding === 'gsm7' ? 6 + 153 : 6 + 134;
    for (const s of segments) expect(s.shortMessage.length).toBeLessThanOrEqual(limit);
  });
});

describe('SMPP time formats', () => {
  it.each<[Date, string]>([
    [new Date(Date.UTC(2026, 11, 1, 6, 30, 0)), '261201063000000+'],
    [new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 999)), '260102030405000+'],
    [new Date('2026-12-01T09:30:00+03:00'), '261201063000000+'],
    [new Date(Date.UTC(2030, 11, 31, 23, 59, 59)), '301231235959000+'],
  ])('smppAbsoluteTime(%s) = %s', (date, expected) => {
    expect(smppAbsoluteTime(date)).toBe(expected);
  });

  it('agrees with the smpp package for whole seconds, both ways', () => {
    const date = new Date(Date.UTC(2026, 5, 15, 12, 0, 30));
    expect(smppAbsoluteTime(date)).toBe(smppDefs.filters.time.encode(date));
    expect(smppDefs.filters.time.decode(smppAbsoluteTime(date)).getTime()).toBe(date.getTime());
  });

  it('rejects an invalid date', () => {
    expect(() => smppAbsoluteTime(new Date(Number.NaN))).toThrow(RangeError);
  });

  it.each<[number, string]>([
    [0, '000000000000000R'],
    [90, '000000000130000R'],
    [2880 * 60, '000002000000000R'],
    [86_400 + 3600 * 5 + 60 * 7 + 9.9, '000001050709000R'],
    [99 * 86_400 + 86_399, '000099235959000R'],
  ])('smppRelativeTime(%p) = %s', (seconds, expected) => {
    expect(smppRelativeTime(seconds)).toBe(expected);
  });

  it.each([-1, 100 * 86_400, Number.POSITIVE_INFINITY])('smppRelativeTime rejects %p', (seconds) => {
    expect(() => smppRelativeTime(seconds)).toThrow(RangeError);
  });

  describe('parseSmppTime', () => {
    const now = new Date(Date.UTC(2026, 11, 6, 10, 0, 0));
    it.each<[string, string | null]>([
      ['', null],
      ['261201063000000+', '2026-12-01T06:30:00.000Z'],
      ['261201093000012+', '2026-12-01T06:30:00.000Z'], // 09:30 local, 12 quarter hours (3 h) ahead of UTC
      ['261201013000020-', '2026-12-01T06:30:00.000Z'], // 01:30 local, 5 h behind UTC
      ['260102030405900+', '2026-01-02T03:04:05.900Z'],
      ['000002000000000R', '2026-12-08T10:00:00.000Z'],
      ['000000000130000R', '2026-12-06T10:01:30.000Z'],
      ['010100000000000R', '2028-01-05T10:00:00.000Z'], // 1 year (365 days) + 1 month (30 days)
    ])('%p', (value, expected) => {
      const got = parseSmppTime(value, now);
      expect(got === null ? null : (got as Date).toISOString()).toBe(expected);
    });

    it('reads what smppAbsoluteTime and smppRelativeTime write, and what the smpp package writes', () => {
      const date = new Date(Date.UTC(2026, 5, 15, 12, 0, 30));
      expect(parseSmppTime(smppAbsoluteTime(date), now)).toEqual(date);
      expect(parseSmppTime(smppDefs.filters.time.encode(date), now)).toEqual(date);
      expect(parseSmppTime(smppRelativeTime(86_400 + 61), now)).toEqual(new Date(now.getTime() + (86_400 + 61) * 1000));
    });

    it.each(['2612010630', '261201063000000', '261301063000000+', '260231063000000+', '261201243000000+', '261201063000049+', '000002000000100R', '26120106300000x+', '261201063000000*'])(
      'refuses %p',
      (value) => {
        expect(parseSmppTime(value, now)).toBe('invalid');
      },
    );
  });
});

describe('submit_sm PDU bytes (checked against the smpp package encoder)', () => {
  const validity = smppAbsoluteTime(new Date(Date.UTC(2026, 11, 1, 6, 30, 0)));

  const pdu = (segment: SubmitSegment): Buffer =>
    new smpp.PDU('submit_sm', {
      sequence_number: 7,
      source_addr_ton: 5,
      source_addr_npi: 0,
      source_addr: 'SMSGW',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: '79036550550',
      esm_class: segment.esmClass,
      validity_period: validity,
      registered_delivery: 1,
      data_coding: segment.dataCoding,
      short_message: segment.shortMessage,
    }).toBuffer();

  // Derived by hand from SMPP 3.4 §4.4.1: header (command_length, command_id 0x00000004,
  // command_status, sequence_number), then the mandatory parameters in order.
  const body = (esmClass: string, dataCoding: string, smLength: string, shortMessage: string): string =>
    [
      '00', //                                      service_type ""
      '05 00 534d534757 00', //                      source TON 5 (alphanumeric), NPI 0, "SMSGW"
      '01 01 3739303336353530353530 00', //          dest TON 1, NPI 1 (ISDN), "79036550550"
      esmClass,
      '00 00', //                                    protocol_id, priority_flag
      '00', //                                       schedule_delivery_time ""
      '32 36 31 32 30 31 30 36 33 30 30 30 30 30 30 2b 00', // validity_period "261201063000000+"
      '01 00', //                                    registered_delivery, replace_if_present_flag
      dataCoding,
      '00', //                                       sm_default_msg_id
      smLength,
      shortMessage,
    ].join(' ');

  it('matches the SMPP 3.4 layout derived by hand for "Hello"', () => {
    const expected = '00000046 00000004 00000000 00000007 ' + body('00', '00', '05', '48 65 6c 6c 6f');
    const [segment] = buildSubmitSegments('Hello', { reference: 0 });
    expect(hex(pdu(segment))).toBe(hex(unhex(expected)));
  });

  it('matches the hand-derived bytes for segment 2/2 of a 161-character text (UDH, esm_class 0x40)', () => {
    const expected =
      '0000004f 00000004 00000000 00000007 ' + body('40', '00', '0e', '05 00 03 2a 02 02' + ' 78'.repeat(8));
    const segment = buildSubmitSegments('x'.repeat(161), { reference: 0x2a })[1];
    expect(hex(pdu(segment))).toBe(hex(unhex(expected)));
  });

  it('is read back by the smpp package decoder as the same UDH and text', () => {
    const segment = buildSubmitSegments('x'.repeat(161), { reference: 0x2a })[1];
    const decoded = smpp.PDU.fromBuffer(pdu(segment));
    expect(decoded).not.toBe(false);
    const sm = (decoded as { short_message: { udh: Buffer[]; message: string } }).short_message;
    expect(sm.udh.map(hex)).toEqual(['00032a0202']);
    expect(sm.message).toBe('x'.repeat(8));

    const ucs = smpp.PDU.fromBuffer(pdu(buildSubmitSegments('Привет', { flash: true, reference: 0 })[0]));
    expect((ucs as { data_coding: number }).data_coding).toBe(0x18);
    expect((ucs as { short_message: { message: string } }).short_message.message).toBe('Привет');
  });
});

describe('a part the partner cut: fitsConcatSegment and buildConcatPartSegment', () => {
  it('leaves 153 septets or 67 UCS-2 units behind an 8-bit reference, one less behind a 16-bit one (140 octets in all)', () => {
    expect(fitsConcatSegment('a'.repeat(153), 7)).toBe(true);
    expect(fitsConcatSegment('a'.repeat(154), 7)).toBe(false);
    expect(fitsConcatSegment('a'.repeat(153), 300)).toBe(false);
    expect(fitsConcatSegment('a'.repeat(152), 300)).toBe(true);
    expect(fitsConcatSegment('Ж'.repeat(67), 7)).toBe(true);
    expect(fitsConcatSegment('Ж'.repeat(67), 300)).toBe(false);
    expect(fitsConcatSegment('Ж'.repeat(66), 300)).toBe(true);
    // What goes to the SMSC: UCS-2 behind the 7-octet header is at most 140 octets.
    expect(buildConcatPartSegment('Ж'.repeat(66), { ref: 300, total: 2, seq: 1 }).shortMessage.length).toBe(139);
    expect(() => buildConcatPartSegment('Ж'.repeat(67), { ref: 300, total: 2, seq: 1 })).toThrow(RangeError);
  });
});
