import { Logger } from '@nestjs/common';

/** Where a task's runs are counted (a service's own series: their names are part of its /metrics). */
export interface PeriodicTaskMetrics {
  runs(outcome: 'ok' | 'error'): void;
  /** Starts timing a run; the function returned ends it. */
  time(): () => void;
}

export interface PeriodicTaskOptions {
  /** Wait before the first run (default 0: at once). */
  firstDelayMs?: number;
  metrics?: PeriodicTaskMetrics;
  /** The timer does not keep the process alive (a service whose server does). */
  unref?: boolean;
}

/**
 * Runs `run` again and again: at once while it reports more work, `intervalMs` after a run that
 * found nothing more (or failed: logged, and tried again then). Never two runs of one task at a
 * time in one process; several processes are kept apart by the rows they lock. `stop()` waits for
 * the run in progress.
 */
export class PeriodicTask {
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    /** One pass; `true` when it left more to do (the next pass starts at once). */
    private readonly run: () => Promise<unknown>,
    private readonly options: PeriodicTaskOptions = {},
  ) {
    this.log = new Logger(`Task ${name}`);
  }

  start(): void {
    this.stopped = false;
    this.schedule(this.options.firstDelayMs ?? 0);
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
    if (this.options.unref) this.timer.unref();
  }

  private async once(): Promise<boolean> {
    const end = this.options.metrics?.time();
    try {
      const more = (await this.run()) === true;
      this.options.metrics?.runs('ok');
      return more;
    } catch (e) {
      this.options.metrics?.runs('error');
      this.log.error(`${this.name} failed: ${(e as Error).message}`);
      return false;
    } finally {
      end?.();
    }
  }
}
