/** At most `limit` acquisitions in any sliding second. */
export class SlidingSecondLimiter {
  private times: number[] = [];
  private head = 0;

  tryAcquire(now: number, limit: number): boolean {
    while (this.head < this.times.length && this.times[this.head] <= now - 1000) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    if (this.times.length - this.head >= limit) return false;
    this.times.push(now);
    return true;
  }
}
