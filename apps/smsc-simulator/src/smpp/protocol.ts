/** SMPP 3.4 command ids the simulator reads (section 5.1.2.1). */
export const Command = {
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_transmitter: 0x00000002,
  submit_sm: 0x00000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
  unbind: 0x00000006,
  unbind_resp: 0x80000006,
  bind_transceiver: 0x00000009,
  enquire_link: 0x00000015,
  enquire_link_resp: 0x80000015,
} as const;

export function isResponse(commandId: number): boolean {
  return (commandId & 0x80000000) !== 0;
}

/** SMPP 3.4 command_status values the simulator answers with (section 5.1.3). */
export const Status = {
  ESME_ROK: 0x00,
  ESME_RINVMSGLEN: 0x01,
  ESME_RINVCMDLEN: 0x02,
  ESME_RINVCMDID: 0x03,
  ESME_RINVBNDSTS: 0x04,
  ESME_RALYBND: 0x05,
  ESME_RSYSERR: 0x08,
  ESME_RINVDSTADR: 0x0b,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RTHROTTLED: 0x58,
} as const;

/** TLV tags the simulator reads or writes (section 5.3.2). */
export const Tlv = {
  dest_addr_subunit: 0x0005,
  receipted_message_id: 0x001e,
  sar_msg_ref_num: 0x020c,
  sar_total_segments: 0x020e,
  sar_segment_seqnum: 0x020f,
  message_payload: 0x0424,
  message_state: 0x0427,
} as const;

export const ESM_CLASS_RECEIPT = 0x04;
export const ESM_CLASS_UDHI = 0x40;
export const HEADER_LENGTH = 16;
/** Larger than any legitimate PDU (a 64 KB message_payload is the theoretical top). */
export const MAX_PDU_LENGTH = 70_000;
/** What the simulator calls itself in bind responses. */
export const SMSC_SYSTEM_ID = 'SMSCSIM';
