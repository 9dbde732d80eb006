import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { enqueue, MessageStatus, QUEUES, testOutcomeJobId } from '@smsgw/contracts';
import { PartnerCallbacks } from '../callbacks/partner-callbacks.service';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { TEST_OUTCOME_QUEUE } from '../infra/tokens';
import { type DispatchMessage, MessageStore } from '../messages/message-store';
import { simulatedOutcome } from './simulated-outcome';

/** Thrown while the outcome job runs ahead of its message's hand-over; BullMQ retries it. */
export class NotHandedOverYet extends Error {}

/**
 * The operator test-mode partners talk to when their real-delivery switch is off (PROTOCOL §8):
 * nothing reaches an SMSC; the message goes to status 0 and gets its outcome SIM_TEST_DLR_DELAY_MS
 * later from a delayed job on `mt.test-outcome`, which lives in Redis and survives a restart.
 */
@Injectable()
export class SimulatedOperator {
  constructor(
    @Inject(TEST_OUTCOME_QUEUE) private readonly queue: Queue,
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly store: MessageStore,
    private readonly callbacks: PartnerCallbacks,
  ) {}

  /** False when the message was no longer status 1 (cancelled meanwhile). */
  async handOver(message: DispatchMessage): Promise<boolean> {
    // The outcome is scheduled before the hand-over is stored: after a crash in between, the
    // outcome job finds the message still 1 and waits (retries) for the dispatch job's re-run.
    if (simulatedOutcome(message.msisdn) !== null) {
      await enqueue(
        this.queue,
        QUEUES.MT_TEST_OUTCOME,
        { messageId: message.id },
        {
          jobId: testOutcomeJobId(message.id),
          delay: this.config.SIM_TEST_DLR_DELAY_MS,
          attempts: 10,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: true,
          // A failed one must not block a later hand-over of the same message (same job id).
          removeOnFail: true,
        },
      );
    }
    const handed = await this.store.handOverToSimulator(message.id);
    if (handed && message.wantsIntermediate) await this.callbacks.deliveryReport(message.id, message.partnerId, MessageStatus.SUBMITTED);
    return handed;
  }

  /**
   * Outcomes whose job Redis lost (flushed, restored from an old snapshot): messages still waiting
   * SIM_TEST_OUTCOME_GRACE_MS after their outcome was due get it now. Returns how many.
   */
  async produceOverdueOutcomes(): Promise<number> {
    const ids = await this.store.overdueSimulated(this.config.SIM_TEST_DLR_DELAY_MS + this.config.SIM_TEST_OUTCOME_GRACE_MS, 500);
    for (const id of ids) await this.produceOutcome(id);
    return ids.length;
  }

  /** The outcome job: final status for a message still with the simulated operator. */
  async produceOutcome(messageId: string): Promise<void> {
    const message = await this.store.loadForDispatch(messageId);
    if (!message) return;
    if (message.status === MessageStatus.ACCEPTED) throw new NotHandedOverYet(`test message ${messageId} is not handed over yet`);
    const outcome = simulatedOutcome(message.msisdn);
    if (outcome === null) return;
    if (message.status === MessageStatus.SUBMITTED) {
      const finished = await this.store.finish(messageId, outcome.status, outcome.extStatus, [MessageStatus.SUBMITTED]);
      if (finished?.wantsDlr) await this.callbacks.deliveryReport(messageId, finished.partnerId, outcome.status);
    } else if (message.status === outcome.status && message.wantsDlr) {
      // Final already: this is a re-run after a crash between the update and the enqueue.
      await this.callbacks.deliveryReport(messageId, message.partnerId, outcome.status);
    }
  }
}
