interface Waiter {
  priority: number;
  order: number;
  enter(): void;
}

/**
 * Messages being dispatched in this process, at most `limit` at once, whichever jobs (single or
 * batch) they come from. Those waiting go in by message priority, then arrival, so a high-priority
 * message overtakes the rest of a low-priority batch already taken.
 */
export class MessageGate {
  private running = 0;
  private waiters: Waiter[] = [];
  private nextOrder = 0;

  constructor(private limit: number) {}

  get inProgress(): number {
    return this.running;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  resize(limit: number): void {
    this.limit = limit;
    this.pump();
  }

  /** Runs `fn` once a place is free (higher `priority` first) and frees the place after it. */
  async run<T>(priority: number, fn: () => Promise<T>): Promise<T> {
    await this.enter(priority);
    try {
      return await fn();
    } finally {
      this.running--;
      this.pump();
    }
  }

  private enter(priority: number): Promise<void> {
    if (this.running < this.limit && this.waiters.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((enter) => {
      const waiter: Waiter = { priority, order: this.nextOrder++, enter };
      const at = this.waiters.findIndex((w) => w.priority < priority);
      if (at === -1) this.waiters.push(waiter);
      else this.waiters.splice(at, 0, waiter);
    });
  }

  private pump(): void {
    while (this.running < this.limit && this.waiters.length > 0) {
      this.running++;
      (this.waiters.shift() as Waiter).enter();
    }
  }
}
