import { Logger } from '@nestjs/common';
import { schedulerMetrics } from '../metrics';

/**
 * Runs `run` again and again: at once while it reports more work, `intervalMs` after a run that
 * found nothing more (or failed). Never two runs of one task at a time in one process; several
 * processes are kept apart by the rows they lock. `stop()` waits for the run in progress.
 */
export class PeriodicTask {
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly run: () => Promise<boolean>,
  ) {
    this.log = new Logger(`Task ${name}`);
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.once().then((more) => {
        this.running = null;
        this.schedule(more ? 0 : this.intervalMs);
      });
    }, delay);
  }

  private async once(): Promise<boolean> {
    const end = schedulerMetrics.taskDuration.startTimer({ task: this.name });
    try {
      const more = await this.run();
      schedulerMetrics.taskRuns.inc({ task: this.name, outcome: 'ok' });
      return more;
    } catch (e) {
      schedulerMetrics.taskRuns.inc({ task: this.name, outcome: 'error' });
      this.log.error(`${this.name} failed: ${(e as Error).message}`);
      return false;
    } finally {
      end();
    }
  }
}
