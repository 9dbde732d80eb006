import { PeriodicTask as CommonPeriodicTask } from '@smsgw/common';
import { schedulerMetrics } from '../metrics';

/** The shared PeriodicTask, its runs counted in the scheduler's series (`smsgw_scheduler_task_*`). */
export class PeriodicTask extends CommonPeriodicTask {
  constructor(name: string, intervalMs: number, run: () => Promise<boolean>) {
    super(name, intervalMs, run, {
      metrics: {
        runs: (outcome) => schedulerMetrics.taskRuns.inc({ task: name, outcome }),
        time: () => schedulerMetrics.taskDuration.startTimer({ task: name }),
      },
    });
  }
}
