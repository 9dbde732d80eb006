/** An SMPP address with its type of number and numbering plan indicator. */
export interface SmppAddress {
  ton: number;
  npi: number;
  addr: string;
}

export const TON_INTERNATIONAL = 1;
export const TON_NETWORK_SPECIFIC = 3;
export const TON_ALPHANUMERIC = 5;
export const NPI_UNKNOWN = 0;
export const NPI_ISDN = 1;

/** Longest numeric sender treated as a short code; longer ones are E.164 numbers. */
export const MAX_SHORT_CODE_DIGITS = 8;

/**
 * submit_sm source address for a sender: a name (anything but digits) goes as alphanumeric
 * (TON 5, NPI 0); a short code (up to 8 digits) as network-specific (TON 3, NPI 0), the form
 * operators route their own short numbers by; a longer number as international E.164 (TON 1,
 * NPI 1) without its '+'.
 */
export function sourceAddress(sender: string): SmppAddress {
  const digits = sender.replace(/^\+/, '');
  if (!/^[0-9]+$/.test(digits)) return { ton: TON_ALPHANUMERIC, npi: NPI_UNKNOWN, addr: sender };
  if (digits.length <= MAX_SHORT_CODE_DIGITS && !sender.startsWith('+')) return { ton: TON_NETWORK_SPECIFIC, npi: NPI_UNKNOWN, addr: digits };
  return { ton: TON_INTERNATIONAL, npi: NPI_ISDN, addr: digits };
}

/** submit_sm destination: the subscriber's E.164 digits (message.msisdn), international/ISDN. */
export function destinationAddress(msisdn: string): SmppAddress {
  return { ton: TON_INTERNATIONAL, npi: NPI_ISDN, addr: msisdn.replace(/^\+/, '') };
}
