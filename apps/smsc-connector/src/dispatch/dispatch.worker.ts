import { Inject, Injectable } from '@nestjs/common';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { parseJob, QUEUES } from '@smsgw/contracts';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { BullWorker } from '../infra/bull-worker';
import { DispatchService } from './dispatch.service';

/**
 * `mt.dispatch` consumer. At most CONNECTOR_CONCURRENCY jobs are taken at a time, and BullMQ
 * hands them out by priority, so a high-priority message overtakes the normal ones still queued.
 *
 * Retries are scheduled here (moveToDelayed + DelayedError) rather than by BullMQ's attempts:
 * the job's producers (ingress, the outbox sweep) set no attempts, and the retry horizon is the
 * message's valid_until, not a count.
 */
@Injectable()
export class DispatchWorker {
  private bull: BullWorker | null = null;

  constructor(
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly dispatch: DispatchService,
  ) {}

  start(): void {
    this.bull = new BullWorker(QUEUES.MT_DISPATCH, (job, token) => this.process(job, token), this.config, this.config.CONNECTOR_CONCURRENCY);
  }

  async stop(timeoutMs: number): Promise<void> {
    await this.bull?.stop(timeoutMs);
  }

  private async process(job: Job, token?: string): Promise<void> {
    let data;
    try {
      data = parseJob(QUEUES.MT_DISPATCH, job.data);
    } catch (e) {
      throw new UnrecoverableError(`invalid ${QUEUES.MT_DISPATCH} job: ${(e as Error).message}`);
    }
    const result = await this.dispatch.dispatch(data, job.attemptsStarted);
    if (result.kind === 'retry') {
      await job.moveToDelayed(result.at, token);
      throw new DelayedError();
    }
  }
}
