/** A place in an SMSC connection's window, taken with a TPS token; release it when the submit is answered. */
export interface SubmitSlot {
  release(): void;
}

interface Waiter {
  priority: number;
  /** Survives `rejectWaiters(…, false)`: the rest of a message already partly sent. */
  essential: boolean;
  order: number;
  resolve(slot: SubmitSlot): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * The two limits an SMSC puts on one connection: a window of submits awaiting their response, and
 * submits per second (a token bucket; the burst is a tenth of a second's worth, so a sliding
 * second never sees much more than `tps`). Callers wait in one queue ordered by message priority,
 * then arrival, so a high-priority message takes the next free slot whatever is waiting.
 */
export class SubmitCapacity {
  private outstandingCount = 0;
  private tokens: number;
  private refilledAt: number;
  private pausedUntil = 0;
  private waiters: Waiter[] = [];
  private nextOrder = 0;
  private timer: NodeJS.Timeout | null = null;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private window: number,
    private tps: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = this.burst;
    this.refilledAt = now();
  }

  get outstanding(): number {
    return this.outstandingCount;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  resize(window: number, tps: number): void {
    this.window = window;
    this.tps = tps;
    this.tokens = Math.min(this.tokens, this.burst);
    this.pump();
  }

  /** Resolves with a slot, or rejects with `timeoutError()` after `timeoutMs`. Higher `priority` goes first. */
  acquire(priority: number, timeoutMs: number, timeoutError: () => Error, essential = false): Promise<SubmitSlot> {
    return new Promise<SubmitSlot>((resolve, reject) => {
      const waiter: Waiter = {
        priority,
        essential,
        order: this.nextOrder++,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.remove(waiter);
          reject(timeoutError());
        }, timeoutMs),
      };
      waiter.timer.unref();
      const at = this.waiters.findIndex((w) => w.priority < priority);
      if (at === -1) this.waiters.push(waiter);
      else this.waiters.splice(at, 0, waiter);
      this.pump();
    });
  }

  /** The SMSC said ESME_RTHROTTLED: send nothing on this connection for `ms`. */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    this.tokens = 0;
    this.refilledAt = this.pausedUntil;
  }

  /** Fails those waiting (the bind was lost, or the connection stops). Taken slots stay taken. */
  rejectWaiters(error: Error, includeEssential = true): void {
    const rejected = this.waiters.filter((w) => includeEssential || !w.essential);
    this.waiters = this.waiters.filter((w) => !rejected.includes(w));
    for (const w of rejected) {
      clearTimeout(w.timer);
      w.reject(error);
    }
    this.pump();
  }

  /** Resolves when no slot is taken (every submit was answered, timed out or failed). */
  idle(): Promise<void> {
    if (this.outstandingCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private get burst(): number {
    return Math.max(1, Math.ceil(this.tps / 10));
  }

  private remove(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i !== -1) this.waiters.splice(i, 1);
  }

  private refill(now: number): void {
    if (now <= this.refilledAt) return;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.tps) / 1000);
    this.refilledAt = now;
  }

  private pump(): void {
    this.clearTimer();
    while (this.waiters.length > 0 && this.outstandingCount < this.window) {
      const now = this.now();
      if (now < this.pausedUntil) return this.wakeAt(this.pausedUntil - now);
      this.refill(now);
      if (this.tokens < 1) return this.wakeAt(Math.ceil(((1 - this.tokens) * 1000) / this.tps));
      this.tokens -= 1;
      this.outstandingCount++;
      const waiter = this.waiters.shift() as Waiter;
      clearTimeout(waiter.timer);
      waiter.resolve(this.slot());
    }
  }

  private slot(): SubmitSlot {
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.outstandingCount--;
        if (this.outstandingCount === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
        this.pump();
      },
    };
  }

  private wakeAt(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, Math.max(1, ms));
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
