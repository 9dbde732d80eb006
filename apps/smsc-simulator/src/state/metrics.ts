import { registeredCounter, registeredGauge } from '@smsgw/common';

/** Process-lifetime series for Prometheus; `POST /reset` does not touch them. */
export const simulatorMetrics = {
  binds: registeredGauge('smsc_sim_binds', 'ESME sessions bound now, by bind mode', ['mode']),
  bindRejects: registeredCounter('smsc_sim_bind_rejects_total', 'Binds refused for wrong credentials'),
  submits: registeredCounter('smsc_sim_submits_total', 'submit_sm accepted'),
  throttled: registeredCounter('smsc_sim_throttled_total', 'submit_sm answered ESME_RTHROTTLED, by limit', ['reason']),
  receiptsSent: registeredCounter('smsc_sim_receipts_sent_total', 'Delivery receipt deliver_sm sent, resends included'),
  receiptsAcked: registeredCounter('smsc_sim_receipts_acked_total', 'Delivery receipts acknowledged by the ESME'),
  receiptsFailed: registeredCounter('smsc_sim_receipts_failed_total', 'Delivery receipts given up after the last attempt'),
  moSegments: registeredCounter('smsc_sim_mo_segments_total', 'MO deliver_sm segments sent'),
  enquireLinks: registeredCounter('smsc_sim_enquire_links_total', 'enquire_link answered'),
  errors: registeredCounter('smsc_sim_errors_total', 'Protocol errors: malformed or unsupported PDUs, failed deliver_sm'),
};
