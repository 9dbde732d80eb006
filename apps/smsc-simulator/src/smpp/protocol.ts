import { COMMAND_IDS, SmppStatus, Tag } from '@smsgw/sms';

export { HEADER_LENGTH, MAX_PDU_LENGTH } from '@smsgw/sms';

/** SMPP 3.4 command ids (section 5.1.2.1): the platform's codec's. */
export const Command = COMMAND_IDS;

export function isResponse(commandId: number): boolean {
  return (commandId & 0x80000000) !== 0;
}

/** SMPP 3.4 command_status values (section 5.1.3). */
export const Status = SmppStatus;

/** TLV tags the simulator reads or writes (section 5.3.2). */
export const Tlv = { ...Tag, dest_addr_subunit: 0x0005 } as const;

export const ESM_CLASS_RECEIPT = 0x04;
export const ESM_CLASS_UDHI = 0x40;
/** What the simulator calls itself in bind responses. */
export const SMSC_SYSTEM_ID = 'SMSCSIM';
