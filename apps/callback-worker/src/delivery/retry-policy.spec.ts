import { nextRetry, retryDelayMs } from './retry-policy';

const H = 3_600_000;
const settings = { firstMs: 10_000, maxMs: H, horizonMs: 72 * H };

describe('retryDelayMs', () => {
  it('starts at 10 s and doubles up to the 1 h cap (no jitter at the midpoint)', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 100].map((n) => retryDelayMs(n, 10_000, H, mid))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_280_000, 2_560_000, H,
    ]);
  });

  it('jitters by ±20 % and never passes the cap', () => {
    expect(retryDelayMs(1, 10_000, H, () => 0)).toBe(8_000);
    expect(retryDelayMs(1, 10_000, H, () => 0.999999)).toBe(12_000);
    expect(retryDelayMs(50, 10_000, H, () => 0.999999)).toBe(H);
    expect(retryDelayMs(50, 10_000, H, () => 0)).toBe(0.8 * H);
  });
});

describe('nextRetry', () => {
  it('retries until the horizon, the last attempt at the horizon itself, then parks', () => {
    const due = 1_000_000;
    expect(nextRetry(1, due, due + 1000, settings, () => 0.5)).toEqual({ action: 'retry', at: due + 11_000 });
    expect(nextRetry(80, due, due + 72 * H - 60_000, settings, () => 0.5)).toEqual({ action: 'retry', at: due + 72 * H });
    expect(nextRetry(81, due, due + 72 * H, settings)).toEqual({ action: 'park' });
  });

  it('parks after maxAttempts and keeps the minimum delay (MO)', () => {
    const mo = { ...settings, maxAttempts: 200, minDelayMs: 20_000 };
    expect(nextRetry(1, 0, 5000, mo, () => 0.5)).toEqual({ action: 'retry', at: 25_000 });
    expect(nextRetry(199, 0, 5000, mo, () => 0.5)).toEqual({ action: 'retry', at: 5000 + H });
    expect(nextRetry(200, 0, 5000, mo)).toEqual({ action: 'park' });
  });
});
