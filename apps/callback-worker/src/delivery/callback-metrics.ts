import { Counter, Gauge, Histogram } from 'prom-client';
import { metricsRegistry } from '@smsgw/common';

/** HTTP attempts by callback kind (dlr, mo) and outcome (ok, http_error, timeout, network, invalid_url). */
export const callbackAttempts = new Counter({
  name: 'smsgw_callback_attempts_total',
  help: 'HTTP attempts to push a callback to a partner',
  labelNames: ['kind', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const callbackAttemptDuration = new Histogram({
  name: 'smsgw_callback_attempt_duration_seconds',
  help: 'Duration of one callback request, connect to last body byte read',
  labelNames: ['kind'] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

/** Final results: delivered, parked, skipped (no URL, intermediate reports off, unknown message). */
export const callbackResults = new Counter({
  name: 'smsgw_callback_results_total',
  help: 'Callbacks finished, by kind and result',
  labelNames: ['kind', 'result'] as const,
  registers: [metricsRegistry],
});

/** Jobs put back as delayed: retry, busy (partner at its concurrency), open/probe (breaker), ordered/down (MO). */
export const callbackDeferred = new Counter({
  name: 'smsgw_callback_deferred_total',
  help: 'Callback jobs moved back to delayed instead of holding a worker slot',
  labelNames: ['kind', 'reason'] as const,
  registers: [metricsRegistry],
});

export const breakerOpened = new Counter({
  name: 'smsgw_callback_breaker_opened_total',
  help: 'Times a partner circuit breaker opened (or re-opened after a failed probe)',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});

export const callbacksInFlight = new Gauge({
  name: 'smsgw_callback_requests_in_flight',
  help: 'Callback requests this instance has open',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});

/** Label sets bound once: the delivery path records several metrics per callback. */
export function boundMetrics(kind: 'dlr' | 'mo') {
  return {
    attempt: {
      ok: callbackAttempts.labels(kind, 'ok'),
      http_error: callbackAttempts.labels(kind, 'http_error'),
      timeout: callbackAttempts.labels(kind, 'timeout'),
      network: callbackAttempts.labels(kind, 'network'),
      invalid_url: callbackAttempts.labels(kind, 'invalid_url'),
    },
    duration: callbackAttemptDuration.labels(kind),
    delivered: callbackResults.labels(kind, 'delivered'),
    parked: callbackResults.labels(kind, 'parked'),
    skipped: callbackResults.labels(kind, 'skipped'),
    inFlight: callbacksInFlight.labels(kind),
  };
}

export const moReplies = new Counter({
  name: 'smsgw_mo_replies_total',
  help: 'Reply messages created from MO callback answers',
  registers: [metricsRegistry],
});
