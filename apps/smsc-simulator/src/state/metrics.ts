import { Counter, Gauge } from 'prom-client';
import { metricsRegistry } from '@smsgw/common';

// Several simulators may run in one process (tests); they share these series, and a metric
// must be registered once per registry.
function counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
  return (metricsRegistry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [metricsRegistry] });
}

function gauge<L extends string>(name: string, help: string, labelNames: L[] = []): Gauge<L> {
  return (metricsRegistry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, registers: [metricsRegistry] });
}

/** Process-lifetime series for Prometheus; `POST /reset` does not touch them. */
export const simulatorMetrics = {
  binds: gauge('smsc_sim_binds', 'ESME sessions bound now, by bind mode', ['mode']),
  bindRejects: counter('smsc_sim_bind_rejects_total', 'Binds refused for wrong credentials'),
  submits: counter('smsc_sim_submits_total', 'submit_sm accepted'),
  throttled: counter('smsc_sim_throttled_total', 'submit_sm answered ESME_RTHROTTLED, by limit', ['reason']),
  receiptsSent: counter('smsc_sim_receipts_sent_total', 'Delivery receipt deliver_sm sent, resends included'),
  receiptsAcked: counter('smsc_sim_receipts_acked_total', 'Delivery receipts acknowledged by the ESME'),
  receiptsFailed: counter('smsc_sim_receipts_failed_total', 'Delivery receipts given up after the last attempt'),
  moSegments: counter('smsc_sim_mo_segments_total', 'MO deliver_sm segments sent'),
  enquireLinks: counter('smsc_sim_enquire_links_total', 'enquire_link answered'),
  errors: counter('smsc_sim_errors_total', 'Protocol errors: malformed or unsupported PDUs, failed deliver_sm'),
};
