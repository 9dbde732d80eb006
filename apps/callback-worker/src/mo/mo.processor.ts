import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Pool } from 'pg';
import { QUEUES } from '@smsgw/contracts';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { QueueWorker } from '../delivery/queue-worker';
import { PG_POOL } from '../infra/tokens';
import { MoService } from './mo.service';

/** Consumes `callback.mo`; all the work is in MoService. */
@Injectable()
export class MoProcessor implements OnModuleDestroy {
  private readonly worker: QueueWorker;

  constructor(
    private readonly service: MoService,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CALLBACK_CONFIG) config: CallbackConfig,
  ) {
    this.worker = new QueueWorker(QUEUES.CALLBACK_MO, config, config.CALLBACK_MO_CONCURRENCY, (job, token) => service.handle(job, token));
  }

  /** Takes jobs from now on (CallbackLifecycle calls it once PostgreSQL and Redis answer). */
  start(): Promise<void> {
    return this.worker.start(this.pool);
  }

  onModuleDestroy(): Promise<void> {
    this.service.stop();
    return this.worker.stop();
  }
}
