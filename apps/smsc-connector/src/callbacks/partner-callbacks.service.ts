import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { activeMessageTraceparent, Batcher } from '@smsgw/common';
import { dlrBatchJobOptions, enqueueBulk, MAX_DLR_BATCH, moJobOptions, QUEUES, type DeliveryReport, type TypedJob } from '@smsgw/contracts';
import { CALLBACK_DLR_QUEUE, CALLBACK_MO_QUEUE } from '../infra/tokens';

/**
 * Hands reports to the callback-worker. Reports of concurrent receipts go to Redis together, as
 * batch jobs of up to MAX_DLR_BATCH reports (one job costs several Redis scripts, so one per report
 * was most of the Redis work of a message). A batch job has no deterministic id: a receipt
 * re-sent by the SMSC gives a second job, whose report the worker finds delivered (or pushes
 * again if the first is still in flight: PROTOCOL §5, at-least-once). MO jobs keep one job each.
 */
@Injectable()
export class PartnerCallbacks {
  private readonly reports = new Batcher<DeliveryReport, void>(
    async (reports) => {
      const jobs: TypedJob<typeof QUEUES.CALLBACK_DLR>[] = [];
      for (let i = 0; i < reports.length; i += MAX_DLR_BATCH) jobs.push({ data: { reports: reports.slice(i, i + MAX_DLR_BATCH) }, opts: dlrBatchJobOptions() });
      await enqueueBulk(this.dlrQueue, QUEUES.CALLBACK_DLR, jobs);
      return reports.map(() => undefined);
    },
    { maxBatch: 500, maxInFlight: 2, name: 'callbacks.dlr' },
  );

  constructor(
    @Inject(CALLBACK_DLR_QUEUE) private readonly dlrQueue: Queue,
    @Inject(CALLBACK_MO_QUEUE) private readonly moQueue: Queue,
  ) {}

  /**
   * A delivery report for the partner's status URL (final status, or 0 with intermediate reports).
   * `traceparent`: the span the report continues (a receipt's; null: none); by default the active
   * message span's.
   */
  deliveryReport(messageId: string, partnerId: number, status: 0 | 2 | 5, traceparent: string | null | undefined = activeMessageTraceparent()): Promise<void> {
    return this.reports.submit(traceparent ? { messageId, partnerId, status, traceparent } : { messageId, partnerId, status });
  }

  /** Stored MO for their partners' MO URLs, in one round trip. */
  async incomingMessages(mo: { moId: string; partnerId: number }[]): Promise<void> {
    await enqueueBulk(
      this.moQueue,
      QUEUES.CALLBACK_MO,
      mo.map((data) => ({ data, opts: moJobOptions(data.moId) })),
    );
  }
}
