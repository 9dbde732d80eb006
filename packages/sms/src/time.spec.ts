import { nextWindowOpening, parseSendAt, parseSendingTime, parseTimeZoneOffset, resolveZone } from './time';

const NY = 'America/New_York';
const MSK = 'Europe/Moscow';

describe('parseTimeZoneOffset', () => {
  it.each<[string, string | null]>([
    ['+03:00', 'UTC+3'],
    ['-05:30', 'UTC-5:30'],
    ['+0530', 'UTC+5:30'],
    ['+05', 'UTC+5'],
    ['+05:45', 'UTC+5:45'],
    ['+00:00', 'UTC'],
    ['-00:00', 'UTC'],
    ['+14:00', 'UTC+14'],
    ['-12:00', 'UTC-12'],
    [' 03:00', 'UTC+3'], // an unencoded `+` decodes to a space
    ['+14:30', null],
    ['-12:30', null],
    ['+15', null],
    ['+03:60', null],
    ['03:00', null],
    ['+3', null],
    ['+3:00', null],
    ['+03:00:00', null],
    ['', null],
    [MSK, null],
  ])('%j', (input, zone) => {
    expect(parseTimeZoneOffset(input)).toEqual(zone === null ? { ok: false } : { ok: true, zone });
  });
});

describe('resolveZone', () => {
  it.each<[string, string]>([
    [MSK, MSK],
    [NY, NY],
    ['UTC', 'UTC'],
    ['+03:00', 'UTC+3'],
    ['-05:30', 'UTC-5:30'],
    ['UTC+3', 'UTC+3'],
    ['UTC-5:30', 'UTC-5:30'],
  ])('%j', (input, zone) => {
    expect(resolveZone(input)).toBe(zone);
    expect(resolveZone(resolveZone(input))).toBe(zone);
  });

  it.each(['Mars/Olympus_Mons', '', '+15:00', 'UTC+15', 'UTC+3:75', 'Moscow'])('rejects %j', (input) => {
    expect(() => resolveZone(input)).toThrow(RangeError);
  });

  // Intl takes these as offset time zones since Node 24; out of -12:00..+14:00 they are still refused.
  it.each(['+14:30', '-12:30', '+1500', '+15', '-23:59', ' 15:00'])('rejects the offset zone %j', (input) => {
    expect(() => resolveZone(input)).toThrow(RangeError);
    expect(() => parseSendAt('2026-12-01 09:30:00', input)).toThrow(RangeError);
  });
});

describe('parseSendAt', () => {
  it.each<[string, string, string | null]>([
    // with an offset the zone does not matter
    ['2026-12-01T09:30:00+03:00', NY, '2026-12-01T06:30:00.000Z'],
    ['2026-12-01T09:30:00Z', MSK, '2026-12-01T09:30:00.000Z'],
    ['2026-12-01T09:30:00.5-05:00', MSK, '2026-12-01T14:30:00.500Z'],
    ['2026-12-01T09:30+0300', NY, '2026-12-01T06:30:00.000Z'],
    ['2026-12-01 09:30:00 03:00', NY, '2026-12-01T06:30:00.000Z'], // `+` decoded to a space
    // local time in the zone
    ['2026-12-01 09:30:00', MSK, '2026-12-01T06:30:00.000Z'],
    ['2026-12-01T09:30:00', MSK, '2026-12-01T06:30:00.000Z'],
    ['2026-12-01 09:30', MSK, '2026-12-01T06:30:00.000Z'],
    ['2026-07-01 09:30:00', NY, '2026-07-01T13:30:00.000Z'], // EDT
    ['2026-12-01 09:30:00', NY, '2026-12-01T14:30:00.000Z'], // EST
    ['2026-12-01 09:30:00', 'UTC-5:30', '2026-12-01T15:00:00.000Z'],
    ['2026-12-01 09:30:00', 'UTC', '2026-12-01T09:30:00.000Z'],
    ['2028-02-29 12:00:00', 'UTC', '2028-02-29T12:00:00.000Z'],
    // DST: 02:30 does not exist on 2026-03-08 in New York (clocks jump 02:00 EST → 03:00 EDT at 07:00Z)
    ['2026-03-08 02:30:00', NY, '2026-03-08T07:00:00.000Z'],
    ['2026-03-08 03:30:00', NY, '2026-03-08T07:30:00.000Z'],
    // DST: 01:30 happens twice on 2026-11-01 in New York; the first (EDT) one is taken
    ['2026-11-01 01:30:00', NY, '2026-11-01T05:30:00.000Z'],
    ['2026-11-01 02:30:00', NY, '2026-11-01T07:30:00.000Z'],
    // rejected
    ['2026-02-30 10:00:00', MSK, null],
    ['2027-02-29 10:00:00', MSK, null],
    ['2026-13-01 10:00:00', MSK, null],
    ['2026-12-01 24:00:00', MSK, null],
    ['2026-12-01 09:60:00', MSK, null],
    ['2026-12-01 09:30:60', MSK, null],
    ['2026-12-01T09:30:00+15:00', MSK, null],
    ['2026-12-01T09:30:00+03:00 ', MSK, null],
    ['2026-12-01', MSK, null],
    ['01.12.2026 09:30:00', MSK, null],
    ['2026-12-1 09:30:00', MSK, null],
    ['', MSK, null],
  ])('%j in %s', (value, zone, expected) => {
    expect(parseSendAt(value, zone)).toEqual(expected === null ? { ok: false } : { ok: true, at: new Date(expected) });
  });

  it('throws on an invalid zone', () => {
    expect(() => parseSendAt('2026-12-01 09:30:00', 'Nowhere/City')).toThrow(RangeError);
  });
});

describe('parseSendingTime', () => {
  it.each<[string, [number, number] | null]>([
    ['10_20', [10, 20]],
    ['22_06', [22, 6]],
    ['9_18', [9, 18]],
    ['0_24', [0, 24]],
    ['00_24', [0, 24]],
    ['20_0', [20, 0]],
    ['23_24', [23, 24]],
    ['', null],
    ['10_10', null],
    ['0_0', null],
    ['24_06', null],
    ['10_25', null],
    ['10-20', null],
    ['10_', null],
    ['_20', null],
    ['100_20', null],
    [' 10_20', null],
  ])('%j', (value, expected) => {
    expect(parseSendingTime(value)).toEqual(
      expected === null ? { ok: false } : { ok: true, startHour: expected[0], endHour: expected[1] },
    );
  });
});

describe('nextWindowOpening', () => {
  it.each<[string, string, number, number, string, string]>([
    // Moscow, UTC+3 all year
    ['inside', '2026-06-15T08:00:00Z', 10, 20, MSK, '2026-06-15T08:00:00Z'],
    ['at the opening', '2026-06-15T07:00:00Z', 10, 20, MSK, '2026-06-15T07:00:00Z'],
    ['before the opening', '2026-06-15T05:00:00Z', 10, 20, MSK, '2026-06-15T07:00:00Z'],
    ['at the closing (exclusive)', '2026-06-15T17:00:00Z', 10, 20, MSK, '2026-06-16T07:00:00Z'],
    ['over the year end', '2026-12-31T18:00:00Z', 10, 20, MSK, '2027-01-01T07:00:00Z'],
    ['across midnight, late evening', '2026-06-15T20:00:00Z', 22, 6, MSK, '2026-06-15T20:00:00Z'],
    ['across midnight, early morning', '2026-06-15T01:00:00Z', 22, 6, MSK, '2026-06-15T01:00:00Z'],
    ['across midnight, daytime', '2026-06-15T09:00:00Z', 22, 6, MSK, '2026-06-15T19:00:00Z'],
    ['across midnight, at the closing', '2026-06-15T03:00:00Z', 22, 6, MSK, '2026-06-15T19:00:00Z'],
    ['until midnight', '2026-06-15T16:59:59Z', 20, 0, MSK, '2026-06-15T17:00:00Z'],
    ['until midnight, inside', '2026-06-15T20:59:59Z', 20, 24, MSK, '2026-06-15T20:59:59Z'],
    ['all day', '2026-06-15T03:00:00Z', 0, 24, MSK, '2026-06-15T03:00:00Z'],
    // New York, spring forward 2026-03-08: 02:00 EST → 03:00 EDT at 07:00Z
    ['opening hour skipped', '2026-03-08T05:00:00Z', 2, 5, NY, '2026-03-08T07:00:00Z'],
    ['after the jump, inside', '2026-03-08T07:30:00Z', 2, 5, NY, '2026-03-08T07:30:00Z'],
    ['morning on the DST day', '2026-03-08T06:00:00Z', 9, 18, NY, '2026-03-08T13:00:00Z'],
    ['evening before the DST day', '2026-03-07T23:30:00Z', 9, 18, NY, '2026-03-08T13:00:00Z'],
    ['evening of the DST day', '2026-03-08T22:30:00Z', 9, 18, NY, '2026-03-09T13:00:00Z'],
    // New York, fall back 2026-11-01: 02:00 EDT → 01:00 EST at 06:00Z
    ['opening hour repeated: first occurrence', '2026-11-01T04:30:00Z', 1, 5, NY, '2026-11-01T05:00:00Z'],
    ['inside during the repeated hour', '2026-11-01T06:30:00Z', 1, 5, NY, '2026-11-01T06:30:00Z'],
    ['evening before the change', '2026-10-31T22:30:00Z', 9, 18, NY, '2026-11-01T14:00:00Z'],
    ['night of the change', '2026-11-01T05:30:00Z', 9, 18, NY, '2026-11-01T14:00:00Z'],
    ['across midnight after the change', '2026-11-01T12:00:00Z', 22, 6, NY, '2026-11-02T03:00:00Z'],
    ['across midnight before the change', '2026-10-31T12:00:00Z', 22, 6, NY, '2026-11-01T02:00:00Z'],
    // fixed offsets
    ['UTC-5:30', '2026-06-15T12:00:00Z', 10, 20, 'UTC-5:30', '2026-06-15T15:30:00Z'],
    ['UTC+14 across midnight', '2026-06-15T00:00:00Z', 22, 6, 'UTC+14', '2026-06-15T08:00:00Z'],
    ['UTC, inside', '2026-06-15T12:00:00Z', 9, 18, 'UTC', '2026-06-15T12:00:00Z'],
  ])('%s', (_name, now, start, end, zone, expected) => {
    expect(nextWindowOpening(new Date(now), start, end, zone)).toEqual(new Date(expected));
  });

  it('returns the same Date when inside', () => {
    const now = new Date('2026-06-15T08:00:00Z');
    expect(nextWindowOpening(now, 10, 20, MSK)).toBe(now);
  });

  it('rejects a bad zone or hours', () => {
    const now = new Date('2026-06-15T08:00:00Z');
    expect(() => nextWindowOpening(now, 10, 20, 'Nowhere/City')).toThrow(RangeError);
    expect(() => nextWindowOpening(now, 24, 6, MSK)).toThrow(RangeError);
    expect(() => nextWindowOpening(now, 10, 25, MSK)).toThrow(RangeError);
    expect(() => nextWindowOpening(now, 9.5, 18, MSK)).toThrow(RangeError);
  });
});
