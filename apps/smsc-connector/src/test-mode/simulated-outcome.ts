import { ExtStatus, MessageStatus } from '@smsgw/contracts';

export type SimulatedOutcome = { status: 2; extStatus: null } | { status: 5; extStatus: number };

/**
 * What the simulated operator reports for a test-mode number (PROTOCOL §8): `…0005` undelivered
 * (invalid number, ext 8), `…0002` expired (ext 2), `…0000` no final report at all (null),
 * anything else delivered.
 */
export function simulatedOutcome(msisdn: string): SimulatedOutcome | null {
  if (msisdn.endsWith('0000')) return null;
  if (msisdn.endsWith('0005')) return { status: MessageStatus.UNDELIVERED, extStatus: ExtStatus.INVALID_NUMBER };
  if (msisdn.endsWith('0002')) return { status: MessageStatus.UNDELIVERED, extStatus: ExtStatus.EXPIRED };
  return { status: MessageStatus.DELIVERED, extStatus: null };
}
