import { Logger } from '@nestjs/common';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { ZodError } from 'zod';
import type Redis from 'ioredis';
import { createRedis, waitForRedis } from '@smsgw/common';
import type { Pool } from 'pg';
import type { CallbackConfig } from '../config';
import { callbackDeferred } from './callback-metrics';

/** After an unexpected failure (database or Redis unreachable) a job is tried again this much later. */
export const FAULT_RETRY_MS = 5_000;

/**
 * A BullMQ worker owned by a Nest provider: started once PostgreSQL and Redis answer, stopped
 * first on shutdown (`close()` waits for the jobs in hand; their requests finish or time out).
 */
export class QueueWorker {
  private worker?: Worker;
  private connection?: Redis;
  private readonly logger: Logger;

  constructor(
    private readonly queue: string,
    private readonly config: CallbackConfig,
    private readonly concurrency: number,
    private readonly process: (job: Job, token: string) => Promise<void>,
  ) {
    this.logger = new Logger(`Worker ${queue}`);
  }

  async start(pool: Pool): Promise<void> {
    await pool.query('SELECT 1');
    // Auto-pipelining: the completions and fetches of concurrent jobs share a write to Redis.
    const connection = createRedis(this.config.REDIS_URL, 'blocking', { enableAutoPipelining: true });
    this.connection = connection;
    await waitForRedis(connection, 10_000);
    this.worker = new Worker(this.queue, (job, token) => this.run(job, token ?? ''), {
      connection,
      prefix: this.config.REDIS_PREFIX,
      concurrency: this.concurrency,
      lockDuration: this.config.CALLBACK_LOCK_MS,
      stalledInterval: this.config.CALLBACK_STALLED_INTERVAL_MS,
      // A job taken over after a crash is safe to run again (the callback state guards it).
      maxStalledCount: 100,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 10_000 },
    });
    this.worker.on('error', (e) => this.logger.error(`worker error: ${e.message}`));
    this.worker.on('failed', (job, e) => this.logger.error(`job ${job?.id} failed: ${e.message}`));
  }

  /**
   * A fault of ours (PostgreSQL down, a bug) must not fail the job: producers enqueue it once, and
   * a failed job is never tried again. It goes back as a delayed job instead; only a payload that
   * does not match its schema fails for good.
   */
  private async run(job: Job, token: string): Promise<void> {
    try {
      await this.process(job, token);
    } catch (e) {
      if (e instanceof DelayedError) throw e;
      if (e instanceof ZodError) throw new UnrecoverableError(`invalid ${this.queue} payload: ${e.message}`);
      this.logger.error(`job ${job.id}: ${(e as Error).message}; trying again in ${FAULT_RETRY_MS / 1000} s`);
      await job.moveToDelayed(Date.now() + FAULT_RETRY_MS + Math.floor(Math.random() * FAULT_RETRY_MS), token);
      callbackDeferred.inc({ kind: this.queue === 'callback.mo' ? 'mo' : 'dlr', reason: 'fault' });
      throw new DelayedError();
    }
  }

  /** Jobs held at once from now on (DLR: ReportSlots decides). */
  setConcurrency(concurrency: number): void {
    if (this.worker && this.worker.concurrency !== concurrency) this.worker.concurrency = concurrency;
  }

  async stop(): Promise<void> {
    await this.worker?.close().catch((e: Error) => this.logger.error(`close failed: ${e.message}`));
    this.connection?.disconnect();
  }
}
