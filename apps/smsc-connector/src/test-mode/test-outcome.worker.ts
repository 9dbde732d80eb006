import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
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
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly operator: SimulatedOperator,
  ) {}

  start(): void {
    this.bull = new BullWorker(QUEUES.MT_TEST_OUTCOME, (job) => this.process(job), this.config, 10);
    this.timer = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = this.operator
        .produceOverdueOutcomes()
        .then((n) => {
          if (n > 0) this.log.warn(`${n} test message(s) had lost their simulated outcome job; outcome given now`);
        })
        .catch((e: Error) => this.log.error(`simulated outcome sweep failed: ${e.message}`))
        .finally(() => (this.sweeping = null));
    }, this.config.RECEIPT_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(timeoutMs: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([this.bull?.stop(timeoutMs), this.sweeping]);
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
