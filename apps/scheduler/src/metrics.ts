import { Gauge, Histogram } from 'prom-client';
import { metricsRegistry, registeredCounter, registeredGauge } from '@smsgw/common';

/** Read on each scrape by the due-backlog gauges; the latest started scheduler of the process answers. */
export interface BacklogProbe {
  /** Held messages due now and not yet released (capped), and the age of the oldest in seconds. */
  due(): Promise<{ count: number; oldestSeconds: number }>;
}
const probes: BacklogProbe[] = [];
/** Scrapes closer together than this share one query: counting a large backlog is not free. */
const PROBE_REUSE_MS = 5000;
let lastProbe: { at: number; result: Promise<{ count: number; oldestSeconds: number } | null> } | null = null;

export function addBacklogProbe(p: BacklogProbe): () => void {
  probes.push(p);
  lastProbe = null;
  return () => {
    const i = probes.indexOf(p);
    if (i >= 0) probes.splice(i, 1);
    lastProbe = null;
  };
}

/** One query answers both gauges, for every scrape within PROBE_REUSE_MS. */
function probeDue(): Promise<{ count: number; oldestSeconds: number } | null> {
  const p = probes[probes.length - 1];
  if (!p) return Promise.resolve(null);
  if (!lastProbe || Date.now() - lastProbe.at > PROBE_REUSE_MS) lastProbe = { at: Date.now(), result: p.due().catch(() => null) };
  return lastProbe.result;
}

function dueGauge(name: string, help: string, pick: (d: { count: number; oldestSeconds: number }) => number): Gauge {
  return (
    (metricsRegistry.getSingleMetric(name) as Gauge | undefined) ??
    new Gauge({
      name,
      help,
      registers: [metricsRegistry],
      async collect() {
        const d = await probeDue();
        if (d) this.set(pick(d));
      },
    })
  );
}

export const schedulerMetrics = {
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
