import { MessageGate } from './message-gate';

const tick = () => new Promise((r) => setImmediate(r));

describe('MessageGate', () => {
  it('lets `limit` run at once and the waiting go in by priority, then arrival', async () => {
    const gate = new MessageGate(2);
    const order: string[] = [];
    const release: Array<() => void> = [];
    const task = (name: string, priority: number) =>
      gate.run(priority, () => {
        order.push(name);
        return new Promise<void>((r) => release.push(r));
      });
    const all = [task('low-1', 0), task('low-2', 0), task('low-3', 0), task('low-4', 0), task('high', 2), task('normal', 1)];
    await tick();
    expect(order).toEqual(['low-1', 'low-2']);
    expect(gate.waiting).toBe(4);
    release[0]!();
    await tick();
    expect(order).toEqual(['low-1', 'low-2', 'high']);
    release[1]!();
    await tick();
    expect(order).toEqual(['low-1', 'low-2', 'high', 'normal']);
    gate.resize(10);
    await tick();
    expect(order).toEqual(['low-1', 'low-2', 'high', 'normal', 'low-3', 'low-4']);
    release.forEach((r) => r());
    await Promise.all(all);
    expect(gate.inProgress).toBe(0);
  });

  it('frees the place when the task throws', async () => {
    const gate = new MessageGate(1);
    await expect(gate.run(1, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.run(1, () => Promise.resolve('next'))).resolves.toBe('next');
  });
});
