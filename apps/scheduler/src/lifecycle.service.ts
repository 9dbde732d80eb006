import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Startup } from '@smsgw/common';
import { OutboxSweep } from './outbox/outbox-sweep.service';
import { ReleaseService } from './release/release.service';
import { StatsRollup } from './stats/stats-rollup.service';
import { TableAnalyze } from './stats/table-analyze.service';
import { Partitions } from './store/partitions.service';

/**
 * Start and stop order in one place. Start: once PostgreSQL and Redis answer (Startup), the tasks
 * SCHEDULER_TASKS names. Stop: no more waiting; each task stops in its service's onModuleDestroy,
 * after the run in progress (docs/operator-guide.md, section 15).
 */
@Injectable()
export class SchedulerLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly startup: Startup,
    private readonly release: ReleaseService,
    private readonly sweep: OutboxSweep,
    private readonly rollup: StatsRollup,
    private readonly analyze: TableAnalyze,
    private readonly partitions: Partitions,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.startup.begin(async () => {
      this.release.start();
      this.sweep.start();
      this.rollup.start();
      this.analyze.start();
      this.partitions.start();
    });
  }

  onModuleDestroy(): Promise<void> {
    return this.startup.stop();
  }
}
