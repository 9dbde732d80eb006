import { Inject, Injectable } from '@nestjs/common';
import { MAX_DLR_BATCH } from '@smsgw/contracts';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';

/** Reports held in jobs per slot, at most (see ReportSlots). */
const HELD_PER_SLOT = 4;

/**
 * Bounds the delivery reports in progress in this instance (requests in flight plus reports
 * waiting for a partner slot) to CALLBACK_CONCURRENCY, whatever jobs they came in: a batch job's
 * reports each take a slot here, as a single job's report does, and wait in arrival order for one.
 *
 * It also says how many `callback.dlr` jobs the BullMQ worker may hold: as many as make
 * HELD_PER_SLOT · CALLBACK_CONCURRENCY reports at the recent mean reports per job, or, if more,
 * those it has plus as many as should bring the reports in hand to that (jobs whose other reports
 * are done may wait long for one to a slow partner); at most CALLBACK_CONCURRENCY jobs. With batch
 * jobs that is a few jobs; with single jobs (retries, re-sends, the sweep) CALLBACK_CONCURRENCY, as
 * before (a steady limit also lets a finishing job fetch the next one in the same call). So an
 * instance never takes far more reports from Redis than it can work on, and leaves the rest to
 * other instances.
 *
 * Why more than one report per slot: BullMQ's worker fetches only when a job starts or ends, not
 * when its limit is raised, so a limit raised by reports finishing inside jobs that stay active (a
 * batch with a report to a slow partner) is seen late; the reports held beyond the slots keep them
 * busy meanwhile (bench:callbacks, phase 2: the fast partner got 52 % of phase 1's rate with two
 * per slot, 70 % with four).
 */
@Injectable()
export class ReportSlots {
  private readonly limit: number;
  private inProgress = 0;
  private readonly waiting: Array<() => void> = [];
  /** Reports of the jobs being run, not yet done; and those jobs. */
  private inHand = 0;
  private jobs = 0;
  /** Reports per job lately (a batch: up to MAX_DLR_BATCH; a single job: 1). */
  private meanJobSize = MAX_DLR_BATCH;
  private listener: ((jobConcurrency: number) => void) | null = null;

  constructor(@Inject(CALLBACK_CONFIG) config: CallbackConfig) {
    this.limit = config.CALLBACK_CONCURRENCY;
  }

  /** Told the job concurrency whenever it changes. */
  onJobConcurrency(listener: (jobConcurrency: number) => void): void {
    this.listener = listener;
  }

  /** Jobs the worker may hold now (see the class comment). */
  jobConcurrency(): number {
    const target = HELD_PER_SLOT * this.limit;
    const short = Math.max(0, target - this.inHand);
    const jobs = Math.max(Math.ceil(target / this.meanJobSize), this.jobs + Math.ceil(short / this.meanJobSize));
    return Math.max(1, Math.min(this.limit, jobs));
  }

  /** A job with `reports` reports starts. */
  jobStarted(reports: number): void {
    this.jobs++;
    this.inHand += reports;
    this.meanJobSize += (reports - this.meanJobSize) * 0.1;
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
