import { Counter, Histogram } from 'prom-client';
import { metricsRegistry } from '@smsgw/common';

export const requestsTotal = new Counter({
  name: 'smsgw_ingress_requests_total',
  help: 'Partner API requests by endpoint and protocol code',
  labelNames: ['endpoint', 'code'] as const,
  registers: [metricsRegistry],
});

export const requestDuration = new Histogram({
  name: 'smsgw_ingress_request_duration_seconds',
  help: 'Partner API request latency, from routing to the answer',
  labelNames: ['endpoint'] as const,
  buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [metricsRegistry],
});

export const messagesAccepted = new Counter({
  name: 'smsgw_messages_accepted_total',
  help: 'Messages stored and answered OK (idempotent repeats not counted)',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});
