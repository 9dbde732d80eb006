import { Logger } from '@nestjs/common';
import { type Job, type Processor, Worker } from 'bullmq';
import type Redis from 'ioredis';
import { createRedis } from '@smsgw/common';
import type { QueueName } from '@smsgw/contracts';
import type { ConnectorConfig } from '../config';

/** A BullMQ worker with its own blocking connection, closed together. */
export class BullWorker {
  private readonly log: Logger;
  private readonly connection: Redis;
  readonly worker: Worker;

  constructor(queue: QueueName, processor: Processor, config: ConnectorConfig, concurrency: number) {
    this.log = new Logger(`Worker ${queue}`);
    this.connection = createRedis(config.REDIS_URL, 'blocking');
    this.worker = new Worker(queue, processor, {
      connection: this.connection,
      prefix: config.REDIS_PREFIX,
      concurrency,
      lockDuration: config.CONNECTOR_JOB_LOCK_MS,
      stalledInterval: config.CONNECTOR_STALLED_INTERVAL_MS,
      // A job is taken again after a crash (lock expired); only a crash loop should fail it for good.
      maxStalledCount: 100,
    });
    this.worker.on('error', (e) => this.log.error(`worker error: ${e.message}`));
    this.worker.on('failed', (job: Job | undefined, e: Error) => {
      if (job) this.log.error(`job ${job.id} failed: ${e.message}`);
    });
  }

  /**
   * Takes no more jobs and waits for those running; after `timeoutMs` it stops waiting (their locks
   * expire and another instance takes them over as stalled).
   */
  async stop(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const graceful = this.worker.close();
    const timedOut = await Promise.race([
      graceful.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.log.warn(`jobs still running after ${timeoutMs} ms; closing anyway`);
      await this.worker.close(true).catch(() => undefined);
    }
    await graceful.catch(() => undefined);
    this.connection.disconnect();
  }
}
