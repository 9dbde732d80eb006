import {
  ConcatAssembler,
  concatKey,
  dataCodingAlphabet,
  decodeShortMessage,
  parseUdh,
  readMoSegment,
  type ConcatInfo,
  type DataCodingAlphabet,
  type MoPduInput,
  type MoSegment,
  type ParsedUdh,
} from './mo';
import { buildSubmitSegments } from './smpp-segments';

const smpp = require('smpp') as {
  PDU: {
    new (command: string, options: Record<string, unknown>): { toBuffer(): Buffer };
    fromBuffer(buf: Buffer): Record<string, unknown> | false;
  };
};

const unhex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ucs2 = (s: string): Buffer => Buffer.from(s, 'utf16le').swap16();
const c8 = (ref: number, total: number, seq: number): ConcatInfo => ({ ref, total, seq, refBits: 8 });
const c16 = (ref: number, total: number, seq: number): ConcatInfo => ({ ref, total, seq, refBits: 16 });

describe('parseUdh', () => {
  it.each<[string, string, ParsedUdh]>([
    ['8-bit concatenation', '05 00 03 2a 02 01 616263', { headerLength: 6, concat: c8(0x2a, 2, 1), payload: unhex('616263') }],
    ['16-bit concatenation', '06 08 04 12 34 03 02 78', { headerLength: 7, concat: c16(0x1234, 3, 2), payload: unhex('78') }],
    [
      'port addressing IE skipped before the concatenation IE',
      '0b 05 04 0b84 23f0 00 03 01 02 01 4142',
      { headerLength: 12, concat: c8(1, 2, 1), payload: unhex('4142') },
    ],
    [
      'concatenation IE before another IE',
      '08 00 03 07 03 03 24 01 00 41',
      { headerLength: 9, concat: c8(7, 3, 3), payload: unhex('41') },
    ],
    ['only an unknown IE (national language shift)', '03 24 01 00 41', { headerLength: 4, payload: unhex('41') }],
    ['seq 0 is ignored', '05 00 03 01 02 00 41', { headerLength: 6, payload: unhex('41') }],
    ['seq above total is ignored', '05 00 03 01 02 03 41', { headerLength: 6, payload: unhex('41') }],
    ['total 0 is ignored', '05 00 03 01 00 00 41', { headerLength: 6, payload: unhex('41') }],
    ['IE 0x00 with a wrong length is skipped', '06 00 04 01 02 01 01 41', { headerLength: 7, payload: unhex('41') }],
    [
      'an invalid concatenation IE does not hide a valid one after it',
      '0a 00 03 01 02 05 00 03 09 02 02 41',
      { headerLength: 11, concat: c8(9, 2, 2), payload: unhex('41') },
    ],
    ['a truncated IE inside the header', '03 00 03 01 41', { headerLength: 4, payload: unhex('41') }],
    ['empty header', '00 41 42', { headerLength: 1, payload: unhex('4142') }],
    ['header length beyond the buffer: no header', '09 00 03 01', { headerLength: 0, payload: unhex('09000301') }],
    ['empty buffer', '', { headerLength: 0, payload: unhex('') }],
  ])('%s', (_name, bytes, expected) => {
    expect(parseUdh(unhex(bytes))).toEqual(expected);
  });

  it('accepts a plain Uint8Array', () => {
    const parsed = parseUdh(new Uint8Array([5, 0, 3, 1, 2, 2, 0x41]));
    expect(parsed.concat).toEqual(c8(1, 2, 2));
    expect(parsed.payload.toString('latin1')).toBe('A');
  });
});

describe('decodeShortMessage', () => {
  it.each<[string, number, string, string]>([
    ['GSM-7 unpacked', 0x00, '48 65 6c 6c 6f', 'Hello'],
    ['GSM-7 specials', 0x00, '00 01 02 11 5b 7f', '@£$_Äà'],
    ['GSM-7 extension', 0x00, '1b 65 1b 3c 1b 3e', '€[]'],
    ['IA5/ASCII', 0x01, '48 69 40 5f', 'Hi@_'],
    ['Latin-1', 0x03, '43 61 66 e9 20 a3 35', 'Café £5'],
    ['UCS-2', 0x08, '04 1f 04 40 04 38 04 32 04 35 04 42', 'Привет'],
    ['UCS-2 surrogate pair', 0x08, '00 61 d8 3d de 00', 'a😀'],
    ['ISO-8859-5 Cyrillic', 0x06, 'bf e0 d8 d2 d5 e2 20 f1 20 f0 20 fd', 'Привет ё № §'],
    ['octet unspecified → Latin-1', 0x02, '41 ff', 'Aÿ'],
    ['binary → Latin-1', 0x04, '00 e9', '\u0000é'],
    ['Hebrew (not decoded) → Latin-1', 0x07, 'e0', 'à'],
    ['general group, class 0, GSM-7', 0x10, '48 69 00', 'Hi@'],
    ['general group, class 1, GSM-7', 0x11, '48 69', 'Hi'],
    ['general group, class 2, GSM-7', 0x12, '48 69', 'Hi'],
    ['general group, class 3, GSM-7', 0x13, '48 69 1b 65', 'Hi€'],
    ['general group, 8-bit', 0x14, '48 e9', 'Hé'],
    ['general group, class 0, UCS-2', 0x18, '04 14 04 30', 'Да'],
    ['general group, class 1, UCS-2', 0x19, '04 14 04 30', 'Да'],
    ['general group, reserved alphabet → Latin-1', 0x0c | 0x10, '48 e9', 'Hé'],
    ['compressed → Latin-1 (bytes kept)', 0x24, '48 e9', 'Hé'],
    ['auto-deletion group, UCS-2', 0x48, '04 14 04 30', 'Да'],
    ['auto-deletion group, GSM-7', 0x40, '48 69 00', 'Hi@'],
    ['reserved group → Latin-1', 0x80, '48 e9', 'Hé'],
    ['message waiting, discard, GSM-7', 0xc0, '48 69 00', 'Hi@'],
    ['message waiting, store, GSM-7', 0xd8, '48 69 00', 'Hi@'],
    ['message waiting, store, UCS-2', 0xe0, '04 14 04 30', 'Да'],
    ['data coding/message class, GSM-7', 0xf0, '48 69 00', 'Hi@'],
    ['data coding/message class, class 1 GSM-7', 0xf1, '48 69 00', 'Hi@'],
    ['data coding/message class, 8-bit', 0xf4, '48 e9', 'Hé'],
    ['data coding/message class, class 1 8-bit', 0xf5, '48 e9', 'Hé'],
    ['JIS (not decoded) → Latin-1', 0x05, '41', 'A'],
  ])('%s (data_coding %i)', (_name, dataCoding, bytes, expected) => {
    expect(decodeShortMessage(dataCoding, unhex(bytes))).toBe(expected);
  });

  it('decodes every ISO-8859-5 byte as ICU does', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(decodeShortMessage(0x06, all)).toBe(new TextDecoder('iso-8859-5').decode(all));
  });

  it('maps every data_coding to an alphabet', () => {
    const counts: Record<DataCodingAlphabet, number> = { gsm7: 0, ucs2: 0, latin1: 0, cyrillic: 0 };
    for (let dc = 0; dc < 256; dc++) counts[dataCodingAlphabet(dc)]++;
    // gsm7: 0x00, 0x10-0x13, 0x40-0x43, 0x50-0x53, 0xC0-0xDF, 0xF0-0xF3 and 0xF8-0xFB (bit 3 reserved);
    // ucs2: 0x08, 0x18-0x1B, 0x48-0x4B, 0x58-0x5B, 0xE0-0xEF.
    expect(counts).toEqual({ gsm7: 1 + 4 + 8 + 32 + 8, ucs2: 1 + 4 + 8 + 16, latin1: 256 - 53 - 29 - 1, cyrillic: 1 });
  });
});

describe('readMoSegment', () => {
  const SAR = { sar_msg_ref_num: 0x1234, sar_total_segments: 3, sar_segment_seqnum: 2 };

  it.each<[string, MoPduInput, MoSegment]>([
    ['plain GSM-7', { esm_class: 0, data_coding: 0, short_message: unhex('48 65 6c 6c 6f') }, { text: 'Hello' }],
    ['UDH-looking bytes without UDHI are text', { esm_class: 0, data_coding: 3, short_message: unhex('05 00 03 01 02 01') }, { text: '\u0005\u0000\u0003\u0001\u0002\u0001' }],
    [
      'GSM-7 with a concatenation UDH',
      { esm_class: 0x40, data_coding: 0, short_message: unhex('05 00 03 2a 02 01 48 65 6c 6c 6f') },
      { text: 'Hello', concat: c8(0x2a, 2, 1) },
    ],
    [
      'UCS-2 with a 16-bit reference UDH',
      { esm_class: 0x40, data_coding: 8, short_message: Buffer.concat([unhex('06 08 04 ab cd 02 02'), ucs2('мир')]) },
      { text: 'мир', concat: c16(0xabcd, 2, 2) },
    ],
    ['Latin-1', { esm_class: 0, data_coding: 3, short_message: unhex('43 61 66 e9') }, { text: 'Café' }],
    ['no data_coding: SMSC default', { esm_class: 0, short_message: unhex('00') }, { text: '@' }],
    ['already a string', { esm_class: 0, short_message: 'Привет' }, { text: 'Привет' }],
    [
      'smpp package decoded form with UDH IEs',
      { esm_class: 0x40, data_coding: 0, short_message: { udh: [unhex('00 03 2a 02 02')], message: 'World' } },
      { text: 'World', concat: c8(0x2a, 2, 2) },
    ],
    [
      'smpp package decoded form, message left as bytes (ISO-8859-5)',
      { esm_class: 0, data_coding: 6, short_message: { message: unhex('bf e0 d8 d2 d5 e2') } },
      { text: 'Привет' },
    ],
    [
      'decoded form with the whole UDH as one buffer',
      { esm_class: 0x40, short_message: { udh: unhex('05 00 03 07 03 01'), message: 'a' } },
      { text: 'a', concat: c8(7, 3, 1) },
    ],
    ['SAR TLVs', { esm_class: 0, data_coding: 0, short_message: unhex('41'), ...SAR }, { text: 'A', concat: c16(0x1234, 3, 2) }],
    [
      'SAR TLVs out of range are ignored',
      { esm_class: 0, short_message: unhex('41'), sar_msg_ref_num: 1, sar_total_segments: 3, sar_segment_seqnum: 4 },
      { text: 'A' },
    ],
    ['incomplete SAR TLVs are ignored', { esm_class: 0, short_message: unhex('41'), sar_msg_ref_num: 1, sar_total_segments: 3 }, { text: 'A' }],
    [
      'the UDH wins over SAR TLVs',
      { esm_class: 0x40, short_message: unhex('05 00 03 09 02 01 41'), ...SAR },
      { text: 'A', concat: c8(9, 2, 1) },
    ],
    [
      'message_payload when short_message is empty',
      { esm_class: 0, data_coding: 8, short_message: Buffer.alloc(0), message_payload: ucs2('длинный текст') },
      { text: 'длинный текст' },
    ],
    [
      'message_payload with UDH and decoded empty short_message',
      { esm_class: 0x40, data_coding: 0, short_message: { message: '' }, message_payload: unhex('05 00 03 01 02 02 42') },
      { text: 'B', concat: c8(1, 2, 2) },
    ],
    ['nothing at all', { esm_class: 0 }, { text: '' }],
  ])('%s', (_name, pdu, expected) => {
    expect(readMoSegment(pdu)).toEqual(expected);
  });

  const wire = (options: Record<string, unknown>): MoPduInput =>
    smpp.PDU.fromBuffer(
      new smpp.PDU('deliver_sm', { source_addr: '79036550550', destination_addr: '4444', ...options }).toBuffer(),
    ) as unknown as MoPduInput;

  it('reads UDH parts as the smpp package decodes them from the wire', () => {
    const pdu = wire({ esm_class: 0x40, data_coding: 8, short_message: Buffer.concat([unhex('05 00 03 33 02 01'), ucs2('Привет, ')]) });
    expect(readMoSegment(pdu)).toEqual({ text: 'Привет, ', concat: c8(0x33, 2, 1) });
  });

  it('reads SAR parts as the smpp package decodes them from the wire', () => {
    const pdu = wire({ esm_class: 0, data_coding: 0, short_message: unhex('48 69'), ...SAR });
    expect(readMoSegment(pdu)).toEqual({ text: 'Hi', concat: c16(0x1234, 3, 2) });
  });
});

describe('concatKey', () => {
  it('joins source, destination, reference and count', () => {
    expect(concatKey('79036550550', '4444', c8(42, 3, 1))).toBe('79036550550|4444|42|3');
  });
});

describe('ConcatAssembler', () => {
  const part = (seq: number, text: string, receivedAt = 0, key = 'k', total = 3) => ({ key, seq, total, text, receivedAt });

  it('completes a message received in order', () => {
    const a = new ConcatAssembler();
    expect(a.add(part(1, 'Hel'))).toEqual({ complete: false });
    expect(a.add(part(2, 'lo '))).toEqual({ complete: false });
    expect(a.openSets).toBe(1);
    expect(a.add(part(3, 'world'))).toEqual({ complete: true, text: 'Hello world', parts: 3 });
    expect(a.openSets).toBe(0);
  });

  it.each([
    [[3, 1, 2]],
    [[2, 3, 1]],
    [[3, 2, 1]],
  ])('completes a message received out of order %j', (order) => {
    const a = new ConcatAssembler();
    const texts = ['', 'A', 'B', 'C'];
    const results = order.map((seq) => a.add(part(seq, texts[seq])));
    expect(results.slice(0, 2)).toEqual([{ complete: false }, { complete: false }]);
    expect(results[2]).toEqual({ complete: true, text: 'ABC', parts: 3 });
  });

  it('ignores a duplicate part, keeping the first copy', () => {
    const a = new ConcatAssembler();
    expect(a.add(part(1, 'A', 0, 'k', 2))).toEqual({ complete: false });
    expect(a.add(part(1, 'X', 5, 'k', 2))).toEqual({ complete: false });
    expect(a.add(part(2, 'B', 6, 'k', 2))).toEqual({ complete: true, text: 'AB', parts: 2 });
  });

  it.each<[string, number, number]>([
    ['total 1', 1, 1],
    ['total 0', 1, 0],
    ['seq 0', 0, 3],
    ['seq above total', 4, 3],
    ['fractional seq', 1.5, 3],
  ])('passes a part with %s through as a message of its own', (_name, seq, total) => {
    const a = new ConcatAssembler();
    expect(a.add({ key: 'k', seq, total, text: 'solo', receivedAt: 0 })).toEqual({ complete: true, text: 'solo', parts: 1 });
    expect(a.openSets).toBe(0);
  });

  it('passes a part whose count differs from its open set through on its own', () => {
    const a = new ConcatAssembler();
    a.add(part(1, 'A', 0, 'k', 2));
    expect(a.add(part(3, 'X', 0, 'k', 3))).toEqual({ complete: true, text: 'X', parts: 1 });
    expect(a.add(part(2, 'B', 0, 'k', 2))).toEqual({ complete: true, text: 'AB', parts: 2 });
  });

  it('keeps different messages apart', () => {
    const a = new ConcatAssembler();
    a.add(part(1, 'a1', 0, 'a', 2));
    a.add(part(1, 'b1', 0, 'b', 2));
    expect(a.add(part(2, 'b2', 0, 'b', 2))).toEqual({ complete: true, text: 'b1b2', parts: 2 });
    expect(a.add(part(2, 'a2', 0, 'a', 2))).toEqual({ complete: true, text: 'a1a2', parts: 2 });
  });

  it('expires a set idle for the timeout since its latest part, with the parts received in order', () => {
    const a = new ConcatAssembler();
    a.add(part(3, 'C', 1_000));
    a.add(part(1, 'A', 2_000));
    a.add(part(1, 'Z', 1_000, 'other', 2));
    expect(a.expire(2_000 + 59_999, 60_000)).toEqual([{ key: 'other', text: 'Z', parts: 1, total: 2 }]);
    expect(a.expire(2_000 + 59_999, 60_000)).toEqual([]);
    expect(a.expire(2_000 + 60_000, 60_000)).toEqual([{ key: 'k', text: 'AC', parts: 2, total: 3 }]);
    expect(a.openSets).toBe(0);
    // a late part opens a new set
    expect(a.add(part(2, 'B', 70_000))).toEqual({ complete: false });
    expect(a.openSets).toBe(1);
  });

  it('does not let an old duplicate refresh the idle time', () => {
    const a = new ConcatAssembler();
    a.add(part(1, 'A', 0));
    a.add(part(1, 'A', 50_000));
    expect(a.expire(60_000, 60_000)).toEqual([{ key: 'k', text: 'A', parts: 1, total: 3 }]);
  });

  it('flushes the oldest set when more than maxOpenSets are open', () => {
    const a = new ConcatAssembler({ maxOpenSets: 2 });
    expect(a.add(part(1, 'a', 0, 'A'))).toEqual({ complete: false });
    expect(a.add(part(1, 'b', 1, 'B'))).toEqual({ complete: false });
    expect(a.add(part(2, 'a2', 2, 'A'))).toEqual({ complete: false }); // existing set: nothing flushed
    expect(a.add(part(1, 'c', 3, 'C'))).toEqual({ complete: false, evicted: [{ key: 'A', text: 'aa2', parts: 2, total: 3 }] });
    expect(a.openSets).toBe(2);
    expect(a.add(part(1, 'x', 4, 'X', 1))).toEqual({ complete: true, text: 'x', parts: 1 }); // single part: no set
    expect(a.openSets).toBe(2);
    expect(a.flushAll()).toEqual([
      { key: 'B', text: 'b', parts: 1, total: 3 },
      { key: 'C', text: 'c', parts: 1, total: 3 },
    ]);
    expect(a.openSets).toBe(0);
  });

  it.each([0, -1, 1.5])('rejects maxOpenSets %p', (maxOpenSets) => {
    expect(() => new ConcatAssembler({ maxOpenSets })).toThrow(RangeError);
  });

  it.each<[string, string]>([
    ['GSM-7 with € at a boundary', 'a'.repeat(152) + '€' + 'b'.repeat(200) + '{end}'],
    ['UCS-2 with emoji', 'Привет 😀 '.repeat(30)],
  ])('reassembles what buildSubmitSegments split (%s), parts shuffled', (_name, text) => {
    const segments = buildSubmitSegments(text, { reference: 77 });
    expect(segments.length).toBeGreaterThan(2);
    const a = new ConcatAssembler();
    const order = segments.map((_, i) => i).reverse();
    let result: ReturnType<ConcatAssembler['add']> = { complete: false };
    for (const i of order) {
      const s = segments[i];
      const mo = readMoSegment({ esm_class: s.esmClass, data_coding: s.dataCoding, short_message: s.shortMessage });
      expect(mo.concat).toEqual(c8(77, segments.length, s.seq));
      result = a.add({
        key: concatKey('79036550550', '4444', mo.concat!),
        seq: mo.concat!.seq,
        total: mo.concat!.total,
        text: mo.text,
        receivedAt: 0,
      });
    }
    expect(result).toEqual({ complete: true, text, parts: segments.length });
  });
});
