import type { CallbackConfig } from '../config';
import { ReportSlots } from './report-slots';

const slotsOf = (concurrency: number) => new ReportSlots({ CALLBACK_CONCURRENCY: concurrency } as CallbackConfig);

describe('ReportSlots', () => {
  it('runs at most CALLBACK_CONCURRENCY reports at once, across jobs, the others in arrival order', async () => {
    const slots = slotsOf(3);
    slots.jobStarted(4);
    slots.jobStarted(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const report = (n: number) =>
      slots.run(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 5));
        order.push(n);
        running--;
      });
    await Promise.all([1, 2, 3, 4, 5, 6].map(report));
    expect(most).toBe(3);
    expect(order.slice(3).sort()).toEqual([4, 5, 6]);
  });

  it('holds as many jobs as bring the reports in hand to four times the slots: a few batch jobs, up to CALLBACK_CONCURRENCY single ones', async () => {
    const slots = slotsOf(512);
    const seen: number[] = [];
    slots.onJobConcurrency((n) => seen.push(n));
    expect(slots.jobConcurrency()).toBe(21); // 2048 reports at 100 per job
    for (let i = 0; i < 20; i++) slots.jobStarted(100);
    expect(slots.jobConcurrency()).toBe(21); // 48 reports short of 2048: one more job
    slots.jobStarted(100);
    expect(slots.jobConcurrency()).toBe(21); // none short: no more
    await slots.run(async () => undefined);
    expect(slots.jobConcurrency()).toBe(21);
    expect(seen.at(-1)).toBe(21);

    const singles = slotsOf(512);
    for (let i = 0; i < 50; i++) singles.jobStarted(1);
    expect(singles.jobConcurrency()).toBe(512); // single jobs: as many as there are slots
  });

  it('holds more batch jobs while the reports left in them are few (they wait for a slow partner)', () => {
    const slots = slotsOf(512);
    for (let i = 0; i < 40; i++) slots.jobStarted(100);
    expect(slots.jobConcurrency()).toBe(40); // 4000 in hand: no more
    // Their other reports are done; 3 of each are left (in flight to a slow partner).
    for (let i = 0; i < 40 * 97; i++) void slots.run(async () => undefined);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(slots.jobConcurrency()).toBe(60); // 1928 short of 2048: 20 more
        resolve();
      }),
    );
  });
});
