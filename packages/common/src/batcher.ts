import { Counter } from 'prom-client';
import { metricsRegistry } from './metrics';

/** How a {@link Batcher} groups work. */
export interface BatcherOptions {
  /** Label of its series in /metrics (smsgw_batch_runs_total, smsgw_batch_items_total). */
  name?: string;
  /** Most items one run gets. */
  maxBatch: number;
  /** Runs in progress at once (e.g. PostgreSQL connections it may occupy). */
  maxInFlight: number;
  /**
   * A run starts beside one already in progress only once this many items wait (default: a
   * twentieth of maxBatch, at least 2); otherwise they gather until a run ends. An idle batcher
   * still starts at once.
   */
  parallelFrom?: number;
}

interface Pending<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (e: Error) => void;
}

/**
 * Group commit for independent callers: items submitted while a run is in progress (or in the same
 * event-loop turn) go together into the next run, so a thousand callers a second cost a few dozen
 * round trips instead of a thousand, and an idle system still answers after one round trip.
 *
 * `run` gets the items in submission order and returns one result per item, in the same order; if
 * it throws, every caller of that run gets the error (each decides whether to retry).
 */
// Registered once per process (tests run several services in one).
const runs =
  (metricsRegistry.getSingleMetric('smsgw_batch_runs_total') as Counter<'batcher'> | undefined) ??
  new Counter({ name: 'smsgw_batch_runs_total', help: 'Batched statements run, by batcher', labelNames: ['batcher'], registers: [metricsRegistry] });
const items =
  (metricsRegistry.getSingleMetric('smsgw_batch_items_total') as Counter<'batcher'> | undefined) ??
  new Counter({ name: 'smsgw_batch_items_total', help: 'Items carried by batched statements, by batcher (items / runs = mean batch)', labelNames: ['batcher'], registers: [metricsRegistry] });

/** Items waiting before a second run starts beside one in progress: a twentieth of maxBatch, at least 2. */
export function defaultParallelFrom(maxBatch: number): number {
  return Math.max(2, Math.ceil(maxBatch / 20));
}

export class Batcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;
  /**
   * Under a moderate load items come one by one: were each to start its own run while another is
   * in progress, every run would carry one item and cost a statement (a parse, a plan, a commit)
   * per item. Waiting for the run in progress lets them share the next one; only a queue long
   * enough to be worth a second statement starts one at once.
   */
  private readonly parallelFrom: number;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {
    if (options.maxBatch < 1 || options.maxInFlight < 1) throw new Error('Batcher: maxBatch and maxInFlight must be at least 1');
    this.parallelFrom = Math.max(1, options.parallelFrom ?? defaultParallelFrom(options.maxBatch));
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a run (not counting those in a run). */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    // setImmediate, not a microtask: callers woken in the same turn (one socket read's worth of
    // responses) join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0 && (this.inFlight === 0 || this.queue.length >= this.parallelFrom)) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.execute(batch);
    }
  }

  private async execute(batch: Pending<I, O>[]): Promise<void> {
    if (this.options.name) {
      runs.inc({ batcher: this.options.name });
      items.inc({ batcher: this.options.name }, batch.length);
    }
    try {
      const results = await this.run(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`Batcher: run returned ${results.length} results for ${batch.length} items`);
      batch.forEach((p, i) => p.resolve(results[i] as O));
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      for (const p of batch) p.reject(error);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}
