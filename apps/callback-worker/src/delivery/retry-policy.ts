/** When a failed callback is tried again, and when it is given up (parked). Pure. */
export interface RetrySettings {
  /** Delay before the first retry; each later one doubles. */
  firstMs: number;
  /** Cap of the doubling. */
  maxMs: number;
  /** A callback is parked once this long has passed since it was due. */
  horizonMs: number;
  /** Parked after this many failed attempts (MO: 200); unlimited when absent. */
  maxAttempts?: number;
  /** No retry sooner than this (MO: the partner counts as down for 20 s after a failure). */
  minDelayMs?: number;
}

export type RetryDecision = { action: 'retry'; at: number } | { action: 'park' };

/**
 * Backoff after `failedAttempts` (≥ 1) failures: firstMs · 2^(n−1), capped at maxMs, with ±20 %
 * jitter so that reports that failed together (a partner outage) do not come back together.
 */
export function retryDelayMs(failedAttempts: number, firstMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failedAttempts, 1) - 1, 40);
  const base = Math.min(maxMs, firstMs * 2 ** exponent);
  return Math.round(Math.min(maxMs, base * (0.8 + 0.4 * random())));
}

/**
 * The next attempt after a failure, or park. The last attempt is made at the horizon itself, so a
 * partner that recovers in the final hour still gets its report.
 */
export function nextRetry(failedAttempts: number, dueAt: number, now: number, s: RetrySettings, random: () => number = Math.random): RetryDecision {
  const deadline = dueAt + s.horizonMs;
  if (now >= deadline) return { action: 'park' };
  if (s.maxAttempts !== undefined && failedAttempts >= s.maxAttempts) return { action: 'park' };
  const delay = Math.max(s.minDelayMs ?? 0, retryDelayMs(failedAttempts, s.firstMs, s.maxMs, random));
  return { action: 'retry', at: Math.min(now + delay, deadline) };
}
