import { SlidingSecondLimiter } from './rate-limiter';
import { RingBuffer } from './submit-log';
import { allocateMessageId } from './message-id';

describe('RingBuffer', () => {
  it('keeps the newest items, oldest first', () => {
    const ring = new RingBuffer<number>(3);
    [1, 2, 3, 4, 5].forEach((n) => ring.push(n));
    expect(ring.newest(10)).toEqual([3, 4, 5]);
    expect(ring.newest(2)).toEqual([4, 5]);
    expect(ring.newest(10, (n) => n % 2 === 1)).toEqual([3, 5]);
    ring.clear();
    expect(ring.newest(10)).toEqual([]);
  });
});

describe('SlidingSecondLimiter', () => {
  it('allows at most the limit in any second', () => {
    const limiter = new SlidingSecondLimiter();
    expect([0, 100, 200].map((t) => limiter.tryAcquire(t, 2))).toEqual([true, true, false]);
    expect(limiter.tryAcquire(999, 2)).toBe(false);
    expect(limiter.tryAcquire(1000, 2)).toBe(true);
  });
});

describe('allocateMessageId', () => {
  it('gives unique ids, hex in the response and decimal in the receipt when mixed', () => {
    const a = allocateMessageId('mixed');
    const b = allocateMessageId('hex');
    expect(BigInt(`0x${a.messageId}`).toString(10)).toBe(a.receiptId);
    expect(b.messageId).not.toBe(a.messageId);
    expect(allocateMessageId('decimal').messageId).toMatch(/^\d+$/);
  });
});
