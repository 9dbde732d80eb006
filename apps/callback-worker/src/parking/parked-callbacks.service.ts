import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { CALLBACK_DLR_QUEUE, CALLBACK_MO_QUEUE, PG_POOL } from '../infra/tokens';
import { CALLBACK_JOB_COLUMNS, enqueueCallbacks, resendParked, type CallbackJobRow, type ResendResult } from './resend-parked';

/**
 * Re-sending parked callbacks, and the sweep: a pending callback whose next attempt is long
 * overdue lost its job (Redis lost data, or a re-send's enqueue failed), so it gets one again.
 * Adding a job that still exists is a no-op, so the sweep is harmless when nothing was lost.
 */
@Injectable()
export class ParkedCallbacks implements OnModuleDestroy {
  private readonly logger = new Logger(ParkedCallbacks.name);
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CALLBACK_DLR_QUEUE) private readonly dlr: Queue,
    @Inject(CALLBACK_MO_QUEUE) private readonly mo: Queue,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
  ) {}

  resendParked(partnerId?: number, ids?: Array<string | number | bigint>): Promise<ResendResult> {
    return resendParked(this.pool, { dlr: this.dlr, mo: this.mo }, { partnerId, ids });
  }

  /** Re-queues up to 1000 overdue pending callbacks; returns how many. */
  async sweep(): Promise<number> {
    const graceMs = Math.max(5 * this.config.CALLBACK_SWEEP_MS, 2 * this.config.CALLBACK_LOCK_MS);
    // A claimed row is due now (its job runs at once) and no longer overdue, so other instances
    // skip it, and a job still delayed behind an open breaker is looked at again only after the
    // grace period.
    const { rows } = await this.pool.query<CallbackJobRow>(
      `UPDATE callback SET next_attempt_at = now()
       WHERE id IN (SELECT id FROM callback WHERE state = 'pending' AND next_attempt_at < now() - $1 * interval '1 millisecond'
                    ORDER BY next_attempt_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
       RETURNING ${CALLBACK_JOB_COLUMNS}`,
      [graceMs],
    );
    if (rows.length > 0) {
      await enqueueCallbacks({ dlr: this.dlr, mo: this.mo }, rows);
      this.logger.warn(`sweep: re-queued ${rows.length} overdue pending callbacks`);
    }
    return rows.length;
  }

  /** Starts the sweep (CallbackLifecycle calls it once PostgreSQL and Redis answer). */
  start(): void {
    if (this.config.CALLBACK_SWEEP_MS <= 0) return;
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .then(() => undefined)
        .catch((e: Error) => this.logger.error(`sweep failed: ${e.message}`))
        .finally(() => (this.sweeping = undefined));
    }, this.config.CALLBACK_SWEEP_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
  }
}
