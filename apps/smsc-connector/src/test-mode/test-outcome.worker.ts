import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { PeriodicTask } from '@smsgw/common';
import { parseJob, QUEUES } from '@smsgw/contracts';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { BullWorker } from '../infra/bull-worker';
import { SimulatedOperator } from './simulated-operator.service';

/**
 * `mt.test-outcome` consumer: the simulated operator's report for a test-mode message. Errors
 * throw, so BullMQ retries. Every RECEIPT_SWEEP_INTERVAL_MS it also gives overdue messages the
 * outcome whose job was lost with Redis.
 */
@Injectable()
export class TestOutcomeWorker {
  private readonly log = new Logger(TestOutcomeWorker.name);
  private bull: BullWorker | null = null;
  private readonly sweep: PeriodicTask;

  constructor(
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly operator: SimulatedOperator,
  ) {
    this.sweep = new PeriodicTask(
      'simulated outcomes',
      config.RECEIPT_SWEEP_INTERVAL_MS,
      async () => {
        const n = await this.operator.produceOverdueOutcomes();
        if (n > 0) this.log.warn(`${n} test message(s) had lost their simulated outcome job; outcome given now`);
      },
      { firstDelayMs: config.RECEIPT_SWEEP_INTERVAL_MS, unref: true },
    );
  }

  start(): void {
    this.bull = new BullWorker(QUEUES.MT_TEST_OUTCOME, (job) => this.process(job), this.config, 10);
    this.sweep.start();
  }

  async stop(timeoutMs: number): Promise<void> {
    await Promise.all([this.bull?.stop(timeoutMs), this.sweep.stop()]);
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
