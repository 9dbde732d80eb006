import { Inject, Injectable } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { parseJob, QUEUES } from '@smsgw/contracts';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { BullWorker } from '../infra/bull-worker';
import { SimulatedOperator } from './simulated-operator.service';

/** `mt.test-outcome` consumer: the simulated operator's report for a test-mode message. Errors throw, so BullMQ retries. */
@Injectable()
export class TestOutcomeWorker {
  private bull: BullWorker | null = null;

  constructor(
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly operator: SimulatedOperator,
  ) {}

  start(): void {
    this.bull = new BullWorker(QUEUES.MT_TEST_OUTCOME, (job) => this.process(job), this.config, 10);
  }

  async stop(timeoutMs: number): Promise<void> {
    await this.bull?.stop(timeoutMs);
  }

  private async process(job: Job): Promise<void> {
    let data;
    try {
      data = parseJob(QUEUES.MT_TEST_OUTCOME, job.data);
    } catch (e) {
      throw new UnrecoverableError(`invalid ${QUEUES.MT_TEST_OUTCOME} job: ${(e as Error).message}`);
    }
    await this.operator.produceOutcome(data.messageId);
  }
}
