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

  it('holds as many jobs as fill the free slots: a few batch jobs, up to CALLBACK_CONCURRENCY single ones', async () => {
    const slots = slotsOf(512);
    const seen: number[] = [];
    slots.onJobConcurrency((n) => seen.push(n));
    expect(slots.jobConcurrency()).toBe(6);
    for (let i = 0; i < 5; i++) slots.jobStarted(100);
    expect(slots.jobConcurrency()).toBe(6); // 12 slots free: one more job
    slots.jobStarted(100);
    expect(slots.jobConcurrency()).toBe(6); // none free: no more
    await slots.run(async () => undefined);
    expect(slots.jobConcurrency()).toBe(6);
    const singles = slotsOf(512);
    for (let i = 0; i < 511; i++) singles.jobStarted(1);
    expect(singles.jobConcurrency()).toBe(512);
    expect(seen.at(-1)).toBe(6);
  });
});
