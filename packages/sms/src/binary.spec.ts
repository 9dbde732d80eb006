import {
  BINARY_SEGMENT_OCTETS,
  BINARY_SINGLE_OCTETS,
  binaryDataCoding,
  binaryFromHex,
  binarySegmentCount,
  binaryToHex,
  buildBinaryPartSegment,
  buildBinarySegments,
  buildUdhSegment,
  concatElement,
  DC_BINARY,
  fitsBinaryConcatSegment,
  isBinaryEncoding,
  isCompressedDataCoding,
  readUdh,
} from './binary';
import { buildMessageSegments } from './message-segments';
import { buildSubmitSegments, type SubmitSegment } from './smpp-segments';

const hex = (b: Buffer): string => b.toString('hex');
const unhex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** `n` octets 0x00, 0x01, … 0xff, 0x00, …: every value, NUL included. */
const octets = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff));

const label = (dc: number): string => `0x${dc.toString(16).padStart(2, '0')}`;

describe('binaryDataCoding', () => {
  it.each(([
    [0x02, DC_BINARY],
    [0x04, DC_BINARY],
    // GSM 03.38 general group, 8-bit alphabet, message class 0–3: kept.
    [0x14, 0x14],
    [0x15, 0x15],
    [0x16, 0x16],
    [0x17, 0x17],
    // Auto-deletion group, 8-bit.
    [0x44, 0x44],
    [0x56, 0x56],
    // Data coding / message class group, 8-bit: kept with its class.
    [0xf4, 0xf4],
    [0xf5, 0xf5],
    [0xf6, 0xf6],
    [0xf7, 0xf7],
    // Texts.
    [0x00, null],
    [0x01, null],
    [0x03, null],
    [0x05, null],
    [0x06, null],
    [0x08, null],
    [0x10, null],
    [0x18, null],
    [0xf0, null],
    [0xf3, null],
    [0xc0, null],
    [0xe8, null],
    // Compressed (bit 5): not 8-bit data here.
    [0x24, null],
    [0x34, null],
    [0x64, null],
  ] as Array<[number, number | null]>).map(([dc, expected]) => [label(dc), expected === null ? 'not 8-bit data' : label(expected), dc, expected] as const))('%s → %s', (_dc, _expected, dc, expected) => {
    expect(binaryDataCoding(dc)).toBe(expected);
  });

  it('compressed coding groups', () => {
    expect([0x20, 0x24, 0x3f, 0x60, 0x7f].every(isCompressedDataCoding)).toBe(true);
    expect([0x00, 0x04, 0x10, 0x14, 0x1f, 0x40, 0x54, 0x80, 0xf4].some(isCompressedDataCoding)).toBe(false);
  });

  it('a stored encoding other than 0 and 8 is 8-bit data', () => {
    expect([0, 8].map(isBinaryEncoding)).toEqual([false, false]);
    expect([4, 0x14, 0xf5].map(isBinaryEncoding)).toEqual([true, true, true]);
  });
});

describe('hex storage', () => {
  it('round-trips every octet, NUL included, as lowercase hex', () => {
    const data = octets(256);
    const text = binaryToHex(data);
    expect(text).toMatch(/^[0-9a-f]{512}$/);
    expect(text.startsWith('000102')).toBe(true);
    expect(binaryFromHex(text).equals(data)).toBe(true);
    expect(binaryToHex(new Uint8Array(data.buffer, data.byteOffset + 250, 3))).toBe('fafbfc');
  });

  it.each(['0', 'abc', 'zz', 'Hello'])('refuses %j', (text) => {
    expect(() => binaryFromHex(text)).toThrow(RangeError);
  });
});

describe('binarySegmentCount', () => {
  it.each<[number, number]>([
    [0, 1],
    [1, 1],
    [140, 1],
    [141, 2],
    [268, 2],
    [269, 3],
    [1340, 10],
    [1341, 11],
  ])('%i octets → %i segments', (n, segments) => {
    expect(binarySegmentCount(n)).toBe(segments);
  });
});

describe('buildBinarySegments', () => {
  it('up to 140 octets: one segment, esm_class 0, the octets untouched', () => {
    const data = octets(140);
    expect(buildBinarySegments(data, { dataCoding: DC_BINARY, reference: 9 })).toEqual<SubmitSegment[]>([
      { dataCoding: 4, esmClass: 0, shortMessage: data, seq: 1, total: 1 },
    ]);
    // The stored data_coding is sent as it is.
    expect(buildBinarySegments(unhex('00ff'), { dataCoding: 0xf5, reference: 9 })[0]).toMatchObject({ dataCoding: 0xf5, shortMessage: unhex('00ff') });
  });

  it('141 octets: 134 + 7 behind 05 00 03 ref 02 0n', () => {
    const data = octets(141);
    const segments = buildBinarySegments(data, { dataCoding: DC_BINARY, reference: 0xa7 });
    expect(segments.map((s) => [s.dataCoding, s.esmClass, s.seq, s.total, hex(s.shortMessage.subarray(0, 6)), s.shortMessage.length])).toEqual([
      [4, 0x40, 1, 2, '050003a70201', 140],
      [4, 0x40, 2, 2, '050003a70202', 13],
    ]);
    expect(Buffer.concat(segments.map((s) => s.shortMessage.subarray(6))).equals(data)).toBe(true);
  });

  it('1340 octets: ten full parts; every part at most 140 octets with its header', () => {
    const data = octets(1340);
    const segments = buildBinarySegments(data, { dataCoding: DC_BINARY, reference: 1 });
    expect(segments).toHaveLength(10);
    expect(segments.every((s) => s.shortMessage.length === 6 + BINARY_SEGMENT_OCTETS)).toBe(true);
    expect(Buffer.concat(segments.map((s) => s.shortMessage.subarray(6))).equals(data)).toBe(true);
  });

  it('refuses a reference outside 0..255 and data needing more than 255 segments', () => {
    expect(() => buildBinarySegments(octets(10), { dataCoding: 4, reference: 256 })).toThrow(RangeError);
    expect(() => buildBinarySegments(octets(BINARY_SEGMENT_OCTETS * 255 + 1), { dataCoding: 4, reference: 1 })).toThrow(RangeError);
  });
});

describe('a part the partner cut itself: buildBinaryPartSegment', () => {
  it('8-bit reference: 05 00 03, up to 134 octets', () => {
    const data = octets(134);
    expect(fitsBinaryConcatSegment(134, 7)).toBe(true);
    expect(fitsBinaryConcatSegment(135, 7)).toBe(false);
    const s = buildBinaryPartSegment(data, { ref: 7, total: 3, seq: 2 }, DC_BINARY);
    expect(s).toMatchObject({ dataCoding: 4, esmClass: 0x40, seq: 1, total: 1 });
    expect(hex(s.shortMessage.subarray(0, 6))).toBe('050003070302');
    expect(s.shortMessage.subarray(6).equals(data)).toBe(true);
    expect(s.shortMessage.length).toBe(BINARY_SINGLE_OCTETS);
  });

  it('16-bit reference: 06 08 04, up to 133 octets', () => {
    expect(fitsBinaryConcatSegment(133, 0x1234)).toBe(true);
    expect(fitsBinaryConcatSegment(134, 0x1234)).toBe(false);
    const s = buildBinaryPartSegment(octets(133), { ref: 0x1234, total: 2, seq: 1 }, 0xf6);
    expect(hex(s.shortMessage.subarray(0, 7))).toBe('06080412340201');
    expect(s.shortMessage.length).toBe(140);
    expect(s.dataCoding).toBe(0xf6);
    expect(() => buildBinaryPartSegment(octets(134), { ref: 0x1234, total: 2, seq: 1 }, 4)).toThrow(RangeError);
  });

  it('refuses a header that is no part', () => {
    expect(() => buildBinaryPartSegment(octets(1), { ref: 1, total: 1, seq: 1 }, 4)).toThrow(RangeError);
    expect(() => buildBinaryPartSegment(octets(1), { ref: 1, total: 2, seq: 3 }, 4)).toThrow(RangeError);
    expect(() => buildBinaryPartSegment(octets(1), { ref: 0x10000, total: 2, seq: 1 }, 4)).toThrow(RangeError);
  });

  it('concatElement: the element without the UDH length octet', () => {
    expect(hex(concatElement({ ref: 7, total: 2, seq: 1 }))).toBe('0003070201');
    expect(hex(concatElement({ ref: 0x1234, total: 2, seq: 1 }))).toBe('080412340201');
  });
});

describe('a UDH of the partner kept: readUdh, buildUdhSegment', () => {
  // WAP push: application port addressing, 16-bit (IE 0x05: destination 2948, source 9200).
  const wap = unhex('06 05 04 0b 84 23 f0');
  const push = Buffer.concat([wap, unhex('01 06 04 03 ae 81 ea 00 01')]);

  it('reads the elements and where the data starts', () => {
    expect(readUdh(push)).toEqual({ headerLength: 7, elements: [{ iei: 0x05, data: unhex('0b8423f0') }] });
    expect(readUdh(unhex('0b 05 04 0b 84 23 f0 00 03 2a 02 01 ff'))).toEqual({
      headerLength: 12,
      elements: [
        { iei: 0x05, data: unhex('0b8423f0') },
        { iei: 0x00, data: unhex('2a0201') },
      ],
    });
    expect(readUdh(unhex('00 41'))).toEqual({ headerLength: 1, elements: [] });
  });

  it.each(['', '07 05 04 0b 84 23 f0', '03 05 04 0b', '02 05'])('none in %j', (bytes) => {
    expect(readUdh(unhex(bytes))).toBeNull();
  });

  it('sends the user data as it is, esm_class 0x40, at most 140 octets', () => {
    expect(buildUdhSegment(push, DC_BINARY)).toEqual<SubmitSegment>({ dataCoding: 4, esmClass: 0x40, shortMessage: push, seq: 1, total: 1 });
    expect(buildUdhSegment(Buffer.concat([wap, octets(133)]), 0xf5).shortMessage.length).toBe(140);
    expect(() => buildUdhSegment(Buffer.concat([wap, octets(134)]), 4)).toThrow(RangeError);
    expect(() => buildUdhSegment(unhex('09 05 04'), 4)).toThrow(RangeError);
  });
});

describe('buildMessageSegments: a stored message', () => {
  const stored = { flash: false, udhi: false, concat: null };

  it('a text as buildSubmitSegments splits it', () => {
    const text = 'x'.repeat(200);
    expect(buildMessageSegments({ ...stored, text, encoding: 0 }, 5)).toEqual(buildSubmitSegments(text, { reference: 5 }));
  });

  it('8-bit data from its hex, with the stored data_coding', () => {
    const segments = buildMessageSegments({ ...stored, text: binaryToHex(octets(200)), encoding: 0xf6 }, 5);
    expect(segments.map((s) => [s.dataCoding, s.esmClass, hex(s.shortMessage.subarray(0, 6))])).toEqual([
      [0xf6, 0x40, '050003050201'],
      [0xf6, 0x40, '050003050202'],
    ]);
  });

  it('a part of 8-bit data behind the partner\'s header; a kept UDH as it is', () => {
    const [part] = buildMessageSegments({ ...stored, text: '00ff', encoding: 4, concat: { ref: 3, total: 2, seq: 2 } }, 5);
    expect(hex(part!.shortMessage)).toBe('05000303020200ff');
    const kept = '0605040b8423f0010604';
    // The concatenation columns (a part with its own UDH) do not add a header: the UDH holds it.
    expect(buildMessageSegments({ ...stored, text: kept, encoding: 4, udhi: true, concat: { ref: 3, total: 2, seq: 1 } }, 5)).toEqual([
      { dataCoding: 4, esmClass: 0x40, shortMessage: unhex(kept), seq: 1, total: 1 },
    ]);
  });

  it('throws for 8-bit data that is not hex', () => {
    expect(() => buildMessageSegments({ ...stored, text: 'hello', encoding: 4 }, 5)).toThrow(RangeError);
  });
});
