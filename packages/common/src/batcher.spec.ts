import { Batcher } from './batcher';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Batcher', () => {
  it('puts items submitted in one turn into one run and answers each caller with its own result', async () => {
    const runs: number[][] = [];
    const b = new Batcher<number, number>(async (items) => {
      runs.push(items);
      return items.map((i) => i * 10);
    }, { maxBatch: 100, maxInFlight: 1 });
    const out = await Promise.all([1, 2, 3].map((i) => b.submit(i)));
    expect(out).toEqual([10, 20, 30]);
    expect(runs).toEqual([[1, 2, 3]]);
  });

  it('collects what arrives during a run into the next one (group commit) and respects maxBatch', async () => {
    const runs: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number, number>(async (items) => {
      runs.push(items);
      if (runs.length === 1) await gate;
      return items;
    }, { maxBatch: 2, maxInFlight: 1 });
    const first = b.submit(1);
    await tick();
    const later = [2, 3, 4].map((i) => b.submit(i));
    await tick();
    expect(runs).toEqual([[1]]);
    expect(b.waiting).toBe(3);
    release();
    await Promise.all([first, ...later]);
    expect(runs).toEqual([[1], [2, 3], [4]]);
  });

  it('runs up to maxInFlight batches at once', async () => {
    let running = 0;
    let peak = 0;
    const b = new Batcher<number, number>(async (items) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return items;
    }, { maxBatch: 1, maxInFlight: 3 });
    await Promise.all([1, 2, 3, 4, 5, 6].map((i) => b.submit(i)));
    expect(peak).toBe(3);
  });

  it('starts a second run beside one in progress only for a queue of parallelFrom items; fewer wait for it', async () => {
    const runs: number[][] = [];
    let release: () => void = () => undefined;
    const b = new Batcher<number, number>(async (items) => {
      runs.push(items);
      if (runs.length === 1) await new Promise<void>((r) => (release = r));
      return items;
    }, { maxBatch: 100, maxInFlight: 3, parallelFrom: 3 });
    const first = b.submit(1);
    await new Promise((r) => setImmediate(r));
    // One by one, in separate turns, while the first run is in progress: they gather.
    const single = [b.submit(2)];
    await new Promise((r) => setImmediate(r));
    single.push(b.submit(3));
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual([[1]]);
    // A third waiting item makes the queue worth a run of its own.
    single.push(b.submit(4));
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual([[1], [2, 3, 4]]);
    release();
    await expect(Promise.all([first, ...single])).resolves.toEqual([1, 2, 3, 4]);
  });

  it('rejects every caller of a failed run and goes on with the next', async () => {
    let calls = 0;
    const b = new Batcher<number, number>(async (items) => {
      calls++;
      if (calls === 1) throw new Error('database gone');
      return items;
    }, { maxBatch: 10, maxInFlight: 1 });
    const failed = [b.submit(1), b.submit(2)];
    await expect(failed[0]).rejects.toThrow('database gone');
    await expect(failed[1]).rejects.toThrow('database gone');
    await expect(b.submit(3)).resolves.toBe(3);
  });

  it('treats a run that answers the wrong number of results as failed', async () => {
    const b = new Batcher<number, number>(async () => [1], { maxBatch: 10, maxInFlight: 1 });
    const both = [b.submit(1), b.submit(2)];
    await expect(both[0]).rejects.toThrow('returned 1 results for 2 items');
    await expect(both[1]).rejects.toThrow('returned 1 results for 2 items');
  });
});
