import { Gauge, Histogram } from 'prom-client';
import { metricsRegistry, registeredCounter, registeredGauge } from '@smsgw/common';

/**
 * Values read at scrape time: the latest registered reader answers (tests start several
 * schedulers in one process), and scrapes closer together than `reuseMs` share one read. A read
 * that fails answers null: the gauges fed by it then show nothing new.
 */
function scrapeProbe<T>(reuseMs: number) {
  const readers: Array<() => Promise<T>> = [];
  let last: { at: number; result: Promise<T | null> } | null = null;
  return {
    add(read: () => Promise<T>): () => void {
      readers.push(read);
      last = null;
      return () => {
        const i = readers.indexOf(read);
        if (i >= 0) readers.splice(i, 1);
        last = null;
      };
    },
    read(): Promise<T | null> {
      const read = readers[readers.length - 1];
      if (!read) return Promise.resolve(null);
      if (!last || Date.now() - last.at > reuseMs) last = { at: Date.now(), result: read().catch(() => null) };
      return last.result;
    },
  };
}

/** A gauge whose value is set by `collect` at each scrape, registered once per process. */
export function collectedGauge<L extends string>(name: string, help: string, labelNames: L[], collect: (g: Gauge<L>) => Promise<void>): Gauge<L> {
  return (
    (metricsRegistry.getSingleMetric(name) as Gauge<L> | undefined) ??
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [metricsRegistry],
      async collect() {
        await collect(this);
      },
    })
  );
}

/** Held messages due now and not yet released (capped), and the age of the oldest in seconds. */
export interface DueBacklog {
  count: number;
  oldestSeconds: number;
}
/** Counting a large backlog is not free: scrapes within 5 s share one query. */
const dueBacklog = scrapeProbe<DueBacklog>(5000);
export const addBacklogProbe = dueBacklog.add;

function dueGauge(name: string, help: string, pick: (d: DueBacklog) => number): Gauge {
  return collectedGauge(name, help, [], async (g) => {
    const d = await dueBacklog.read();
    if (d) g.set(pick(d));
  });
}

/** The BullMQ job states the queue gauges count. */
export const QUEUE_GAUGE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'paused'] as const;
export type QueueGaugeState = (typeof QUEUE_GAUGE_STATES)[number];
/** One queue as the queue gauges show it. */
export interface QueueReading {
  queue: string;
  jobs: Record<QueueGaugeState, number>;
  /** Age of the oldest job ready to run and not started (0: none). */
  oldestWaitingSeconds: number;
}
/** Read once a second at most, however many scrapers ask. */
const queueReadings = scrapeProbe<QueueReading[]>(1000);
export const addQueueProbe = queueReadings.add;

/**
 * Queue gauges drop their series when Redis does not answer (rather than showing the last values
 * as if they were current), so that alerts see the gap.
 */
function queueGauge<L extends string>(name: string, help: string, labelNames: L[], fill: (g: Gauge<L>, r: QueueReading) => void): Gauge<L> {
  return collectedGauge(name, help, labelNames, async (g) => {
    const readings = await queueReadings.read();
    g.reset();
    for (const r of readings ?? []) fill(g, r);
  });
}

export const schedulerMetrics = {
  queueJobs: queueGauge('smsgw_queue_jobs', 'Jobs of each platform queue by state (waiting, active, delayed, prioritized, failed, paused), as BullMQ getJobCounts counts them', ['queue', 'state'], (g, r) => {
    for (const state of QUEUE_GAUGE_STATES) g.set({ queue: r.queue, state }, r.jobs[state]);
  }),
  queueOldestWaiting: queueGauge(
    'smsgw_queue_oldest_waiting_seconds',
    'Age of the oldest job of a queue that is ready to run and not started: waiting, prioritized, or delayed past its time (0: none)',
    ['queue'],
    (g, r) => g.set({ queue: r.queue }, r.oldestWaitingSeconds),
  ),
  dueBacklog: dueGauge(
    'smsgw_scheduler_due_backlog',
    'Postponed or windowed messages due now and not released yet (counted up to 1,000,000)',
    (d) => d.count,
  ),
  dueOldest: dueGauge('smsgw_scheduler_due_oldest_seconds', 'How long the oldest due, unreleased message has been due', (d) => d.oldestSeconds),
  released: registeredCounter('smsgw_scheduler_released_total', 'Postponed or windowed messages queued on mt.dispatch at their time (rate: releases/s)'),
  rescheduled: registeredCounter('smsgw_scheduler_rescheduled_total', 'Windowed messages found due after their window closed, moved to the next opening'),
  expired: registeredCounter('smsgw_scheduler_expired_total', 'Held messages ended 5 / 16 because their validity ran out, by where they were found', ['found']),
  sweepFound: registeredCounter(
    'smsgw_scheduler_sweep_found_total',
    'Work the sweeps found without its job and queued again: dispatch (held message), resume (claimed, segments missing), report (callback.dlr), mo (callback.mo)',
    ['kind'],
  ),
  sweepChecked: registeredCounter('smsgw_scheduler_sweep_checked_total', 'Rows the sweeps looked at, by kind', ['kind']),
  rollupFolded: registeredCounter('smsgw_scheduler_rollup_changes_total', 'Message changes folded into the statistics'),
  rollupLag: registeredGauge('smsgw_scheduler_rollup_lag_seconds', 'Age of the oldest change in the last statistics fold (0 when nothing was waiting)'),
  taskRuns: registeredCounter('smsgw_scheduler_task_runs_total', 'Task runs by task and outcome (ok, error)', ['task', 'outcome']),
  taskDuration: ((metricsRegistry.getSingleMetric('smsgw_scheduler_task_duration_seconds') as Histogram<'task'> | undefined) ??
    new Histogram({
      name: 'smsgw_scheduler_task_duration_seconds',
      help: 'Duration of one run of a task (one batch)',
      labelNames: ['task'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [metricsRegistry],
    })) as Histogram<'task'>,
};
