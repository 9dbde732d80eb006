import { splitText } from '@smsgw/sms';
import { buildMoSegments, MoInputError, splitByUnits } from './mo-segments';

describe('buildMoSegments', () => {
  it('keeps a text that fits in one SMS whole, without UDH', () => {
    const [s, ...rest] = buildMoSegments('x'.repeat(160), { encoding: 'auto', concat: 'udh8', reference: 7 });
    expect(rest).toEqual([]);
    expect(s).toMatchObject({ seq: 1, total: 1, esmClass: 0, dataCoding: 0, sar: null });
    expect(s.shortMessage).toHaveLength(160);
  });

  it('splits GSM-7 and UCS-2 exactly as splitText does for 8-bit references', () => {
    for (const text of ['a'.repeat(400), `${'€'.repeat(80)}abc`, `${'я'.repeat(100)}😀${'я'.repeat(40)}`]) {
      const segments = buildMoSegments(text, { encoding: 'auto', concat: 'udh8', reference: 1 });
      expect(segments).toHaveLength(splitText(text).length);
    }
  });

  it('never cuts a two-septet character or a surrogate pair', () => {
    const width = (ch: string): number => (ch === '€' ? 2 : 1);
    expect(splitByUnits(`${'a'.repeat(152)}€b`, width, 153, 153)).toEqual([`${'a'.repeat(152)}`, '€b']);
    const parts = splitByUnits(`${'я'.repeat(66)}😀`, (ch) => ch.length, 67, 67);
    expect(parts).toEqual(['я'.repeat(66), '😀']);
  });

  it('writes 8-bit and 16-bit reference UDHs and SAR numbers', () => {
    const text = 'y'.repeat(200);
    const [udh8] = buildMoSegments(text, { encoding: 'gsm7', concat: 'udh8', reference: 0x1234 });
    expect(udh8.shortMessage.subarray(0, 6)).toEqual(Buffer.from([5, 0, 3, 0x34, 2, 1]));
    expect(udh8.esmClass).toBe(0x40);
    const [, udh16] = buildMoSegments(text, { encoding: 'gsm7', concat: 'udh16', reference: 0x1234 });
    expect(udh16.shortMessage.subarray(0, 7)).toEqual(Buffer.from([6, 8, 4, 0x12, 0x34, 2, 2]));
    expect(udh16.shortMessage.length - 7).toBe(200 - 152);
    const [sar] = buildMoSegments(text, { encoding: 'gsm7', concat: 'sar', reference: 0x1234 });
    expect(sar).toMatchObject({ esmClass: 0, sar: { msgRefNum: 0x1234, totalSegments: 2, segmentSeqnum: 1 } });
    expect(sar.shortMessage).toHaveLength(153);
  });

  it('refuses characters the forced encoding cannot carry', () => {
    expect(() => buildMoSegments('Привет', { encoding: 'gsm7', concat: 'udh8', reference: 0 })).toThrow(MoInputError);
    expect(() => buildMoSegments('€', { encoding: 'latin1', concat: 'udh8', reference: 0 })).toThrow(MoInputError);
    expect(buildMoSegments('é', { encoding: 'latin1', concat: 'udh8', reference: 0 })[0]).toMatchObject({ dataCoding: 3, shortMessage: Buffer.from([0xe9]) });
  });
});
