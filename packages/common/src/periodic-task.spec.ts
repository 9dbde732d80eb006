import { PeriodicTask } from './periodic-task';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `done()`; the bounds below are in how far apart runs start, not in wall time. */
async function until(done: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`not done within ${ms} ms`);
    await sleep(5);
  }
}

describe('PeriodicTask', () => {
  it('runs again at once while there is more, after the interval when not, and never twice at a time', async () => {
    const INTERVAL = 200;
    const starts: number[] = [];
    let running = 0;
    let maxRunning = 0;
    let left = 3;
    const task = new PeriodicTask('test', INTERVAL, async () => {
      starts.push(Date.now());
      maxRunning = Math.max(maxRunning, ++running);
      await sleep(10);
      running--;
      return --left > 0;
    });
    const t0 = Date.now();
    task.start();
    // Stopped whatever happens: a task left running keeps jest (in band) from ever exiting.
    try {
      await until(() => starts.length >= 3);
      // The first run at once and three back to back, not an interval apart. (Bounds well under
      // the interval, not near 0: a loaded machine or a GC pause can delay a timer by tens of ms.)
      expect(starts[0]! - t0).toBeLessThan(INTERVAL * 0.75);
      expect(starts[2]! - starts[0]!).toBeLessThan(INTERVAL * 0.75);
      await until(() => starts.length >= 4);
      expect(starts[3]! - starts[2]!).toBeGreaterThanOrEqual(INTERVAL - 10); // then one per interval
    } finally {
      await task.stop();
    }
    expect(maxRunning).toBe(1);
  });

  it('counts and logs a failed run, and tries again after the interval; stop waits for the run in progress', async () => {
    const outcomes: string[] = [];
    let timed = 0;
    let ended = false;
    let calls = 0;
    const task = new PeriodicTask(
      'failing',
      50,
      async () => {
        calls++;
        if (calls === 1) throw new Error('database away');
        await sleep(30);
        ended = true;
        return false;
      },
      { firstDelayMs: 20, metrics: { runs: (o) => outcomes.push(o), time: () => () => timed++ } },
    );
    task.start();
    // The first run (at 20 ms) fails; the second starts an interval later.
    while (calls < 2) await sleep(5);
    await task.stop();
    expect(ended).toBe(true);
    expect(outcomes).toEqual(['error', 'ok']);
    expect(timed).toBe(2);
  });
});
