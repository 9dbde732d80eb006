import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { CLOCK, type Clock } from '../clock';
import { SCHEDULER_CONFIG, type SchedulerConfig } from '../config';
import { PeriodicTask } from '../tasks/periodic-task';
import { DispatchSweep, type SweepPage } from './dispatch-sweep.service';
import { ReportSweep } from './report-sweep.service';

export type SweepKind = 'dispatch' | 'resume' | 'report' | 'mo';
export type SweepResult = Record<SweepKind, { checked: number; found: number; expired: number }>;

/**
 * Runs the four sweeps a page at a time every SCHEDULER_SWEEP_INTERVAL_MS: a steady, small load
 * whatever the backlog. A page that found lost work is followed at once by the next one, so
 * after Redis lost its data the queues are rebuilt at full speed.
 */
@Injectable()
export class OutboxSweep implements OnModuleDestroy {
  private readonly task: PeriodicTask;
  /** This instance's totals. */
  readonly totals: SweepResult = empty();

  constructor(
    @Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly dispatch: DispatchSweep,
    private readonly reports: ReportSweep,
  ) {
    this.task = new PeriodicTask('sweep', config.SCHEDULER_SWEEP_INTERVAL_MS, () => this.sweepPage(this.clock.now()));
  }

  /** Starts the task if SCHEDULER_TASKS names it (SchedulerLifecycle calls it once PostgreSQL and Redis answer). */
  start(): void {
    if (this.config.SCHEDULER_TASKS.includes('sweep')) this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }

  /** One page of each sweep; true when one of them found lost work and has more to look at. */
  async sweepPage(now: Date): Promise<boolean> {
    const pages: Array<[SweepKind, SweepPage]> = [
      ['dispatch', await this.dispatch.sweepHeld(now)],
      ['resume', await this.dispatch.sweepClaimed(now)],
      ['report', await this.reports.sweepReports(now)],
      ['mo', await this.reports.sweepMo(now)],
    ];
    for (const [kind, p] of pages) add(this.totals[kind], p);
    return pages.some(([, p]) => p.full && p.found > 0);
  }

  /** A whole pass of every sweep at `now` (tests; an operator's one-off run). */
  async sweepAll(now: Date): Promise<SweepResult> {
    const result = empty();
    const pass = async (kind: SweepKind, page: () => Promise<SweepPage>) => {
      for (;;) {
        const p = await page();
        add(result[kind], p);
        add(this.totals[kind], p);
        if (!p.full) return;
      }
    };
    await pass('dispatch', () => this.dispatch.sweepHeld(now));
    await pass('resume', () => this.dispatch.sweepClaimed(now));
    await pass('report', () => this.reports.sweepReports(now));
    await pass('mo', () => this.reports.sweepMo(now));
    return result;
  }
}

function empty(): SweepResult {
  return { dispatch: zero(), resume: zero(), report: zero(), mo: zero() };
}

function zero() {
  return { checked: 0, found: 0, expired: 0 };
}

function add(into: { checked: number; found: number; expired: number }, p: SweepPage): void {
  into.checked += p.checked;
  into.found += p.found;
  into.expired += p.expired;
}
