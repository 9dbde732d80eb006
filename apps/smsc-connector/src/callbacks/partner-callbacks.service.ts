import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { Batcher } from '@smsgw/common';
import { dlrJobOptions, enqueueBulk, moJobOptions, QUEUES } from '@smsgw/contracts';
import { CALLBACK_DLR_QUEUE, CALLBACK_MO_QUEUE } from '../infra/tokens';

/**
 * Hands reports to the callback-worker. Job ids are deterministic, so adding one twice (a receipt
 * re-sent by the SMSC, a job re-run after a crash) while the first is queued is one push; after it
 * was pushed, a repeat is a duplicate the partner dedupes (PROTOCOL §5: at-least-once).
 */
@Injectable()
export class PartnerCallbacks {
  // One report per final message: reports of concurrent receipts go to Redis in one addBulk.
  private readonly reports = new Batcher<{ messageId: string; partnerId: number; status: 0 | 2 | 5 }, void>(
    async (reports) => {
      await enqueueBulk(
        this.dlrQueue,
        QUEUES.CALLBACK_DLR,
        reports.map((data) => ({ data, opts: dlrJobOptions(data.messageId, data.status) })),
      );
      return reports.map(() => undefined);
    },
    { maxBatch: 500, maxInFlight: 2, name: 'callbacks.dlr' },
  );

  constructor(
    @Inject(CALLBACK_DLR_QUEUE) private readonly dlrQueue: Queue,
    @Inject(CALLBACK_MO_QUEUE) private readonly moQueue: Queue,
  ) {}

  /** A delivery report for the partner's status URL (final status, or 0 with intermediate reports). */
  deliveryReport(messageId: string, partnerId: number, status: 0 | 2 | 5): Promise<void> {
    return this.reports.submit({ messageId, partnerId, status });
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
