/** A bound SMPP session as the SMPP server's `/binds` reports it (and the portal shows it). */
export interface SmppBindState {
  partnerId: number;
  login: string;
  mode: 'transmitter' | 'receiver' | 'transceiver';
  /** The partner's address and port. */
  remote: string;
  /** ISO 8601. */
  boundAt: string;
  /** submit_sm the session may have unanswered, and has now. */
  window: number;
  inFlight: number;
  /** submit_sm and data_sm answered since the bind: stored, refused. */
  accepted: number;
  refused: number;
  /** submit_sm and data_sm answered (stored or refused) per second, over the last 10 s. */
  submitsPerSecond: number;
  /** deliver_sm sent (reports and MO) since the bind: acknowledged by the partner, not (refused, no answer in time, bind ended). */
  delivered: number;
  deliverFailed: number;
  /** deliver_sm settled (either way) per second, over the last 10 s. */
  deliversPerSecond: number;
}
