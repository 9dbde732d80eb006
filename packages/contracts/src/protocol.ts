/**
 * Canonical parameter names of the partner protocol (PROTOCOL.md). Each partner may rename any
 * of them; the maps stored per partner go from these names to the partner's own.
 */
export const REQUEST_PARAMS = [
  'serviceId',
  'pass',
  'clientId',
  'message',
  'source',
  'ptag',
  'partnerMsgId',
  'send_at',
  'sending_time',
  'time_zone',
  'validity',
  'flash',
  'smsPriority',
  'output',
  'transactionId',
] as const;
export type RequestParam = (typeof REQUEST_PARAMS)[number];

/** Parameters of the DLR (§5) and MO (§6) pushes to partners. */
export const CALLBACK_PARAMS = [
  'transactionId',
  'status',
  'msgType',
  'ptag',
  'partnerMsgId',
  'unifiedExtStatus',
  'segments',
  'doneDate',
  'clientId',
  'message',
  'shortNumber',
  'serviceId',
  'messageId',
  'receivedDate',
  'connectorId',
  'sum_sms',
  'mtSent',
  'hash',
] as const;
export type CallbackParam = (typeof CALLBACK_PARAMS)[number];
