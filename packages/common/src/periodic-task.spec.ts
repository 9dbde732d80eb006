import { PeriodicTask } from './periodic-task';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PeriodicTask', () => {
  it('runs again at once while there is more, after the interval when not, and never twice at a time', async () => {
    const starts: number[] = [];
    let running = 0;
    let maxRunning = 0;
    let left = 3;
    const task = new PeriodicTask('test', 200, async () => {
      starts.push(Date.now());
      maxRunning = Math.max(maxRunning, ++running);
      await sleep(10);
      running--;
      return --left > 0;
    });
    const t0 = Date.now();
    task.start();
    await sleep(120);
    expect(starts).toHaveLength(3); // three runs back to back
    await sleep(200);
    expect(starts).toHaveLength(4); // then one per interval
    expect(starts[3]! - starts[2]!).toBeGreaterThanOrEqual(190);
    expect(starts[0]! - t0).toBeLessThan(50);
    await task.stop();
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
