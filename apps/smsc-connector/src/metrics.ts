import { registeredCounter, registeredGauge } from '@smsgw/common';

export const connectorMetrics = {
  bound: registeredGauge('smsgw_smsc_bound', 'SMSC connection fully bound (1) or not (0)', ['connection']),
  binds: registeredCounter('smsgw_smsc_binds_total', 'Bind attempts by outcome', ['connection', 'outcome']),
  outstanding: registeredGauge('smsgw_smsc_window_outstanding', 'submit_sm awaiting their response', ['connection']),
  submits: registeredCounter(
    'smsgw_smsc_submits_total',
    'submit_sm by result: accepted, throttled, temporary_error, permanent_error, timeout, connection_lost',
    ['connection', 'result'],
  ),
  receipts: registeredCounter(
    'smsgw_smsc_receipts_total',
    'Delivery receipts by outcome: delivered, undelivered, pending (not final), unmatched, unparseable',
    ['connection', 'status'],
  ),
  moReceived: registeredCounter('smsgw_mo_received_total', 'MO messages stored (a concatenated one counts once)', ['connection', 'complete']),
  moUnowned: registeredCounter('smsgw_mo_unowned_total', 'MO messages to a number no partner owns (stored with partner_id null)'),
  dispatched: registeredCounter(
    'smsgw_mt_dispatch_total',
    'mt.dispatch outcomes: submitted, test_simulated, permanent_error, expired, skipped (status not 1), cancelled',
    ['outcome'],
  ),
  retries: registeredCounter('smsgw_mt_dispatch_retries_total', 'Messages put back for a later attempt, by reason', ['reason']),
  resubmitted: registeredCounter(
    'smsgw_mt_resubmitted_total',
    'Segments sent again that the SMSC may have taken already (then the subscriber gets the SMS twice): after a crash of the connector (crash), or after a submit_sm it did not answer (unanswered)',
    ['reason'],
  ),
  receiptContentMatch: registeredCounter(
    'smsgw_receipt_content_match_total',
    'Parked receipts (no segment with their SMSC id) looked for by content: matched, none (no message fits), ambiguous (several fit; left parked)',
    ['outcome'],
  ),
  receiptDeadline: registeredCounter('smsgw_receipt_deadline_total', 'Messages ended 5/2 because no receipt came by valid_until plus the grace time'),
  resendsIgnored: registeredCounter(
    'smsgw_deliver_sm_resends_ignored_total',
    'deliver_sm identical to one answered OK just before the link was lost, taken as the SMSC resending it (its answer lost) and not stored again',
    ['connection'],
  ),
  journalRefused: registeredCounter('smsgw_journal_refused_total', 'Inbound journal records the database refused (a data or constraint error, not an outage), logged and dropped', ['kind']),
};
