import { Inject, Injectable, Logger } from '@nestjs/common';
import { DelayedError, type Job, type Queue, UnrecoverableError } from 'bullmq';
import { dispatchJobOptions, enqueue, isDispatchBatch, type MtDispatchBatch, type MtDispatchMessage, parseJob, QUEUES } from '@smsgw/contracts';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { BullWorker } from '../infra/bull-worker';
import { MT_DISPATCH_QUEUE } from '../infra/tokens';
import { SmscRegistry } from '../smsc/smsc-registry.service';
import { DispatchService } from './dispatch.service';
import { MessageGate } from './message-gate';

const MIN_CONCURRENCY = 10;

/**
 * `mt.dispatch` consumer. A job is one message (`m<id>`) or a batch of messages of one priority.
 *
 * The messages in progress follow what the SMSC connections can take: twice their submits in
 * flight (each link's window, or its TPS if smaller), so that the next messages are loaded while
 * some are being submitted, and few wait long for a slot of a slow SMSC (bounded by
 * CONNECTOR_CONCURRENCY, at least MIN_CONCURRENCY). That bound is a MessageGate shared by every
 * job, served by message priority: the messages of a high-priority job overtake those of a
 * low-priority batch already taken. BullMQ hands out jobs by priority too; it takes a tenth of that
 * many jobs at once (at least MIN_CONCURRENCY), since a batch brings up to 500 messages.
 *
 * Retries are scheduled here rather than by BullMQ's attempts: the retry horizon is the message's
 * valid_until, not a count. A single job moves itself to the delayed set (moveToDelayed +
 * DelayedError). A message of a batch gets a delayed job of its own (`m<id>`, carrying its run
 * count so the backoff keeps growing), and the batch completes once every message is done or
 * handed over that way. A batch re-run (a crash, an expired lock) is harmless: the message's
 * status guards skip what is done already.
 */
@Injectable()
export class DispatchWorker {
  private readonly log = new Logger(DispatchWorker.name);
  private bull: BullWorker | null = null;
  private readonly gate = new MessageGate(MIN_CONCURRENCY);
  private stopping = false;

  constructor(
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    @Inject(MT_DISPATCH_QUEUE) private readonly queue: Queue,
    private readonly dispatch: DispatchService,
    private readonly registry: SmscRegistry,
  ) {}

  start(): void {
    const limits = this.limits();
    this.gate.resize(limits.messages);
    this.bull = new BullWorker(QUEUES.MT_DISPATCH, (job, token) => this.process(job, token), this.config, limits.jobs);
    this.log.log(`dispatching up to ${limits.messages} messages (${limits.jobs} mt.dispatch jobs) at once`);
    this.registry.onChange(() => {
      const next = this.limits();
      this.gate.resize(next.messages);
      if (!this.bull || this.bull.worker.concurrency === next.jobs) return;
      this.bull.worker.concurrency = next.jobs;
      this.log.log(`dispatching up to ${next.messages} messages (${next.jobs} mt.dispatch jobs) at once`);
    });
  }

  private limits(): { messages: number; jobs: number } {
    const wanted = Math.max(MIN_CONCURRENCY, 2 * this.registry.submitCapacity());
    const messages = Math.min(this.config.CONNECTOR_CONCURRENCY, wanted);
    return { messages, jobs: Math.max(Math.min(MIN_CONCURRENCY, messages), Math.ceil(messages / 10)) };
  }

  /**
   * Messages of batches not started yet get jobs of their own at once (another instance, or this
   * one after the restart, takes them); the messages in progress finish (bounded by `timeoutMs`,
   * after which the batch's lock expires and the batch re-runs).
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    await this.bull?.stop(timeoutMs);
  }

  private async process(job: Job, token?: string): Promise<void> {
    let data;
    try {
      data = parseJob(QUEUES.MT_DISPATCH, job.data);
    } catch (e) {
      throw new UnrecoverableError(`invalid ${QUEUES.MT_DISPATCH} job: ${(e as Error).message}`);
    }
    if (isDispatchBatch(data)) return this.processBatch(job, data);

    const { attempt: before, ...message } = data;
    const result = await this.gate.run(message.priority, () => this.dispatch.dispatch(message, (before ?? 0) + job.attemptsStarted));
    if (result.kind === 'retry') {
      await job.moveToDelayed(result.at, token);
      throw new DelayedError();
    }
  }

  private async processBatch(job: Job, batch: MtDispatchBatch): Promise<void> {
    const run = job.attemptsStarted;
    const outcomes = await Promise.allSettled(
      batch.messages.map((m) =>
        this.gate.run(m.priority, async () => {
          if (this.stopping) return this.retryAlone(m, run - 1, Date.now());
          const result = await this.dispatch.dispatch(m, run);
          if (result.kind === 'retry') await this.retryAlone(m, run, result.at);
        }),
      ),
    );
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    // The batch fails (no BullMQ attempts): the outbox sweep re-queues the messages it left.
    if (failed) throw failed.reason;
  }

  /** A delayed single job for one message of a batch; `runs`: its runs so far. */
  private async retryAlone(m: MtDispatchMessage, runs: number, at: number): Promise<void> {
    const data: MtDispatchMessage = { messageId: m.messageId, partnerId: m.partnerId, priority: m.priority };
    if (runs > 0) data.attempt = runs;
    if (m.traceparent) data.traceparent = m.traceparent;
    await enqueue(this.queue, QUEUES.MT_DISPATCH, data, { ...dispatchJobOptions(m.messageId, m.priority), delay: Math.max(0, at - Date.now()) });
  }
}
