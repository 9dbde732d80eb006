import { SubmitCapacity, type SubmitSlot } from './submit-capacity';

const timeout = () => new Error('timeout');

describe('SubmitCapacity', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    jest.useFakeTimers();
    now = 0;
  });
  afterEach(() => jest.useRealTimers());

  const advance = async (ms: number) => {
    now += ms;
    jest.advanceTimersByTime(ms);
    await Promise.resolve();
  };

  it('hands out at most `window` slots and the next one when a slot is released', async () => {
    const c = new SubmitCapacity(2, 1000, clock);
    const got: SubmitSlot[] = [];
    for (let i = 0; i < 3; i++) void c.acquire(1, 10_000, timeout).then((s) => got.push(s));
    await advance(10);
    expect(got).toHaveLength(2);
    expect(c.waiting).toBe(1);
    got[0]!.release();
    await advance(10);
    expect(got).toHaveLength(3);
    expect(c.outstanding).toBe(2);
  });

  it('serves higher priority first, then arrival order', async () => {
    const c = new SubmitCapacity(1, 1000, clock);
    const order: string[] = [];
    const first = await c.acquire(1, 10_000, timeout);
    for (const [name, p] of [['normal-1', 1], ['low', 0], ['normal-2', 1], ['high', 2]] as const) {
      void c.acquire(p, 10_000, timeout).then((s) => {
        order.push(name);
        s.release();
      });
    }
    first.release();
    for (let i = 0; i < 10; i++) await advance(5);
    expect(order).toEqual(['high', 'normal-1', 'normal-2', 'low']);
  });

  it('paces submits to the TPS limit with a burst of a tenth of a second', async () => {
    const c = new SubmitCapacity(1000, 100, clock);
    let granted = 0;
    for (let i = 0; i < 200; i++) void c.acquire(1, 60_000, timeout).then((s) => (granted++, s.release()));
    await advance(0);
    expect(granted).toBe(10);
    for (let i = 0; i < 100; i++) await advance(10);
    // One second later: the burst plus a second's worth.
    expect(granted).toBeGreaterThanOrEqual(105);
    expect(granted).toBeLessThanOrEqual(111);
  });

  it('sends nothing while paused after throttling', async () => {
    const c = new SubmitCapacity(10, 1000, clock);
    c.pauseFor(500);
    let granted = 0;
    void c.acquire(1, 10_000, timeout).then(() => granted++);
    await advance(400);
    expect(granted).toBe(0);
    for (let i = 0; i < 20; i++) await advance(10);
    expect(granted).toBe(1);
  });

  it('rejects waiters on timeout and when told to', async () => {
    const c = new SubmitCapacity(1, 1000, clock);
    await c.acquire(1, 1000, timeout);
    const timedOut = c.acquire(1, 100, timeout);
    const rejected = c.acquire(1, 10_000, timeout);
    await advance(150);
    await expect(timedOut).rejects.toThrow('timeout');
    c.rejectWaiters(new Error('bind lost'));
    await expect(rejected).rejects.toThrow('bind lost');
  });

  it('idle() resolves when every slot is released', async () => {
    const c = new SubmitCapacity(5, 1000, clock);
    const a = await c.acquire(1, 1000, timeout);
    let idle = false;
    void c.idle().then(() => (idle = true));
    await advance(1);
    expect(idle).toBe(false);
    a.release();
    a.release(); // releasing twice counts once
    await advance(1);
    expect(idle).toBe(true);
    expect(c.outstanding).toBe(0);
  });
});
