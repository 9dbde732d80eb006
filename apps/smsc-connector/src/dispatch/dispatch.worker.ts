import { Inject, Injectable, Logger } from '@nestjs/common';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { parseJob, QUEUES } from '@smsgw/contracts';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { BullWorker } from '../infra/bull-worker';
import { SmscRegistry } from '../smsc/smsc-registry.service';
import { DispatchService } from './dispatch.service';

const MIN_CONCURRENCY = 10;

/**
 * `mt.dispatch` consumer. BullMQ hands jobs out by priority, so a high-priority message overtakes
 * the normal ones still queued. The jobs in progress follow what the SMSC connections can take:
 * twice their submits in flight (each link's window, or its TPS if smaller), so that the next
 * batch is loaded while one is being submitted, and few jobs wait long for a slot of a slow SMSC
 * (bounded by CONNECTOR_CONCURRENCY, at least MIN_CONCURRENCY).
 *
 * Retries are scheduled here (moveToDelayed + DelayedError) rather than by BullMQ's attempts:
 * the job's producers (ingress, the outbox sweep) set no attempts, and the retry horizon is the
 * message's valid_until, not a count.
 */
@Injectable()
export class DispatchWorker {
  private readonly log = new Logger(DispatchWorker.name);
  private bull: BullWorker | null = null;

  constructor(
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly dispatch: DispatchService,
    private readonly registry: SmscRegistry,
  ) {}

  start(): void {
    this.bull = new BullWorker(QUEUES.MT_DISPATCH, (job, token) => this.process(job, token), this.config, this.concurrency());
    this.log.log(`taking up to ${this.bull.worker.concurrency} mt.dispatch jobs at once`);
    this.registry.onChange(() => {
      const next = this.concurrency();
      if (!this.bull || this.bull.worker.concurrency === next) return;
      this.bull.worker.concurrency = next;
      this.log.log(`taking up to ${next} mt.dispatch jobs at once`);
    });
  }

  private concurrency(): number {
    const wanted = Math.max(MIN_CONCURRENCY, 2 * this.registry.submitCapacity());
    return Math.min(this.config.CONNECTOR_CONCURRENCY, wanted);
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
