/**
 * Exponential backoff with jitter: `base * 2^attempt`, capped at `max`, then a random point in
 * the upper half of that, so that many clients failing together (every message of a lost bind)
 * do not come back in the same millisecond. `attempt` counts from 0.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** A sleep that `abort()` ends early (used by reconnect loops, so a stop does not wait out a backoff). */
export function abortableSleep(ms: number): { done: Promise<void>; abort(): void } {
  let timer: NodeJS.Timeout | undefined;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
    timer = setTimeout(resolve, ms);
  });
  return {
    done,
    abort: () => {
      if (timer) clearTimeout(timer);
      finish();
    },
  };
}
