import { Inject, Injectable } from '@nestjs/common';
import { MAX_DLR_BATCH } from '@smsgw/contracts';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';

/**
 * Bounds the delivery reports in progress in this instance (requests in flight plus reports
 * waiting for a partner slot) to CALLBACK_CONCURRENCY, whatever jobs they came in: a batch job's
 * reports each take a slot here, as a single job's report does, and wait in arrival order for one.
 *
 * It also says how many `callback.dlr` jobs the BullMQ worker may hold: those it has, plus enough
 * to fill the slots still unclaimed by the reports in hand (at least one while any is free). With
 * batch jobs that is a few jobs; with single jobs (retries, re-sends, the sweep) up to
 * CALLBACK_CONCURRENCY, as before. So an instance never takes far more reports from Redis than it
 * can work on, and leaves the rest to other instances.
 */
@Injectable()
export class ReportSlots {
  private readonly limit: number;
  private inProgress = 0;
  private readonly waiting: Array<() => void> = [];
  /** Reports of the jobs being run, not yet done; and those jobs. */
  private inHand = 0;
  private jobs = 0;
  private listener: ((jobConcurrency: number) => void) | null = null;

  constructor(@Inject(CALLBACK_CONFIG) config: CallbackConfig) {
    this.limit = config.CALLBACK_CONCURRENCY;
  }

  /** Told the job concurrency whenever it changes. */
  onJobConcurrency(listener: (jobConcurrency: number) => void): void {
    this.listener = listener;
  }

  /** Jobs the worker may hold now. */
  jobConcurrency(): number {
    const free = Math.max(0, this.limit - this.inHand);
    return Math.max(1, Math.min(this.limit, this.jobs + Math.ceil(free / MAX_DLR_BATCH)));
  }

  /** A job with `reports` reports starts. */
  jobStarted(reports: number): void {
    this.jobs++;
    this.inHand += reports;
    this.changed();
  }

  /** A job ends (each of its reports went through `run`). */
  jobEnded(): void {
    this.jobs--;
    this.changed();
  }

  /** Runs one report of a started job in a slot (waiting for one), and counts it done. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.inProgress >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.inProgress++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes on
      else this.inProgress--;
      this.inHand--;
      this.changed();
    }
  }

  private changed(): void {
    this.listener?.(this.jobConcurrency());
  }
}
