import { Inject, Injectable } from '@nestjs/common';
import { SIMULATOR_CONFIG, type SimulatorConfig } from '../config';
import type { SubmitRecord } from './submit-record';

/** A fixed-size ring: the newest `capacity` items, oldest overwritten first. */
export class RingBuffer<T> {
  private readonly items: Array<T | undefined>;
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The newest `limit` items that `match` accepts, oldest first. */
  newest(limit: number, match: (item: T) => boolean = () => true): T[] {
    const out: T[] = [];
    for (let i = 1; i <= this.count && out.length < limit; i++) {
      const item = this.items[(this.next - i + this.capacity) % this.capacity] as T;
      if (match(item)) out.push(item);
    }
    return out.reverse();
  }

  clear(): void {
    this.items.fill(undefined);
    this.next = 0;
    this.count = 0;
  }
}

@Injectable()
export class SubmitLog {
  private readonly ring: RingBuffer<SubmitRecord>;

  constructor(@Inject(SIMULATOR_CONFIG) config: SimulatorConfig) {
    this.ring = new RingBuffer(config.recordLimit);
  }

  add(record: SubmitRecord): void {
    this.ring.push(record);
  }

  list(limit: number, destinationAddr?: string): SubmitRecord[] {
    return this.ring.newest(limit, destinationAddr === undefined ? undefined : (r) => r.destinationAddr === destinationAddr);
  }

  clear(): void {
    this.ring.clear();
  }
}
