/**
 * Events per second over a sliding window of whole seconds (default the last 10), for `/binds`:
 * one counter per second in a ring, so that `mark` is a few array operations and `perSecond` a sum
 * over the window, whatever the traffic. The window ends now and covers the current second (partly
 * gone) and the whole seconds before it; while the meter is younger than the window, the time since
 * it started is the divisor (at least one second), so that a bind of two seconds does not show a
 * tenth of its rate.
 */
export class RateMeter {
  /** Counts of the seconds in the window, at index (second mod window). */
  private readonly counts: Float64Array;
  /** The second (ms since the epoch / 1000, floored) each slot counts; a slot of an older second is stale. */
  private readonly seconds: Float64Array;
  private readonly startedAt: number;

  constructor(
    readonly windowSeconds = 10,
    now = Date.now(),
  ) {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError(`windowSeconds must be a positive integer, not ${windowSeconds}`);
    this.counts = new Float64Array(windowSeconds);
    this.seconds = new Float64Array(windowSeconds).fill(-1);
    this.startedAt = now;
  }

  /** Counts `n` events at `now`. */
  mark(n = 1, now = Date.now()): void {
    const second = Math.floor(now / 1000);
    const slot = second % this.windowSeconds;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.counts[slot] = 0;
    }
    this.counts[slot] += n;
  }

  /** Events per second over the window ending at `now`. */
  perSecond(now = Date.now()): number {
    const second = Math.floor(now / 1000);
    const oldest = second - this.windowSeconds + 1;
    let sum = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      const s = this.seconds[i];
      if (s >= oldest && s <= second) sum += this.counts[i];
    }
    if (sum === 0) return 0;
    const windowMs = Math.min(now - oldest * 1000, now - this.startedAt);
    return sum / (Math.max(windowMs, 1000) / 1000);
  }
}
