import { RateMeter } from './rate-meter';

describe('RateMeter', () => {
  const T0 = 1_700_000_000_000; // a whole second

  it('is 0 with nothing counted', () => {
    const m = new RateMeter(10, T0);
    expect(m.perSecond(T0)).toBe(0);
    expect(m.perSecond(T0 + 60_000)).toBe(0);
  });

  it('divides by the window once the meter is older than it', () => {
    const m = new RateMeter(10, T0);
    // 50 events a second, looked at half-way through second 19: the window is seconds 10..18 and
    // the half of 19 gone, 475 events in 9.5 s.
    for (let ms = 0; ms < 19_500; ms += 20) m.mark(1, T0 + ms);
    expect(m.perSecond(T0 + 19_500)).toBeCloseTo(50, 5);
    // The rest of second 19: at T0+20 s the window is seconds 11..19 and nothing yet of 20.
    for (let ms = 19_500; ms < 20_000; ms += 20) m.mark(1, T0 + ms);
    expect(m.perSecond(T0 + 20_000)).toBeCloseTo(50, 5);
    // Nothing more: the rate falls as the window moves on, to 0 once second 19 has left it.
    expect(m.perSecond(T0 + 25_000)).toBeCloseTo(200 / 9, 5); // seconds 16..19 of 16..25
    expect(m.perSecond(T0 + 29_000)).toBe(0);
  });

  it('divides by the time since it started while younger than the window, at least one second', () => {
    const m = new RateMeter(10, T0);
    m.mark(30, T0 + 100);
    expect(m.perSecond(T0 + 500)).toBe(30); // not 30 / 0.5 s: the divisor is at least a second
    m.mark(30, T0 + 2_500);
    expect(m.perSecond(T0 + 3_000)).toBe(20); // 60 in 3 s
  });

  it('forgets the seconds that left the window, and reuses their slots', () => {
    const m = new RateMeter(10, T0);
    m.mark(100, T0 + 1_000);
    expect(m.perSecond(T0 + 10_999)).toBeCloseTo(10, 2); // second 1 still in 1..10
    expect(m.perSecond(T0 + 11_000)).toBe(0); // window 2..11
    // Second 11 shares second 1's slot: the old count is dropped, not added to.
    m.mark(5, T0 + 11_200);
    expect(m.perSecond(T0 + 12_999)).toBeCloseTo(0.5, 3);
  });

  it('counts several events in one mark, and fractions of a second', () => {
    const m = new RateMeter(2, T0);
    m.mark(3, T0 + 5_100);
    m.mark(1, T0 + 5_900);
    m.mark(2, T0 + 6_400);
    // Window of seconds 5 and 6 at T0+6.5 s: 6 events over 1.5 s.
    expect(m.perSecond(T0 + 6_500)).toBeCloseTo(4, 5);
  });

  it('ignores a clock that went back and refuses a window that is no whole number of seconds', () => {
    const m = new RateMeter(10, T0 + 5_000);
    m.mark(10, T0 + 8_000);
    expect(m.perSecond(T0 + 7_000)).toBe(0); // the marked second lies ahead of "now"
    expect(() => new RateMeter(0)).toThrow(RangeError);
    expect(() => new RateMeter(1.5)).toThrow(RangeError);
  });
});
