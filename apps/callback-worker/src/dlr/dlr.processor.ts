import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Pool } from 'pg';
import { QUEUES } from '@smsgw/contracts';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { QueueWorker } from '../delivery/queue-worker';
import { PG_POOL } from '../infra/tokens';
import { DlrService } from './dlr.service';
import { ReportSlots } from './report-slots';

/** Consumes `callback.dlr`; all the work is in DlrService. */
@Injectable()
export class DlrProcessor implements OnModuleDestroy {
  private readonly worker: QueueWorker;

  constructor(
    service: DlrService,
    slots: ReportSlots,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CALLBACK_CONFIG) config: CallbackConfig,
  ) {
    // Reports in progress are bounded by ReportSlots; the jobs held follow from the reports in hand.
    this.worker = new QueueWorker(QUEUES.CALLBACK_DLR, config, slots.jobConcurrency(), (job, token) => service.handle(job, token));
    slots.onJobConcurrency((n) => this.worker.setConcurrency(n));
  }

  /** Takes jobs from now on (CallbackLifecycle calls it once PostgreSQL and Redis answer). */
  start(): Promise<void> {
    return this.worker.start(this.pool);
  }

  onModuleDestroy(): Promise<void> {
    return this.worker.stop();
  }
}
