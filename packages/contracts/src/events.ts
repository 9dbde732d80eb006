/**
 * Redis pub/sub channel on which configuration changes are announced; running services reload
 * the named partner (or everything for '*'). Prefixed like every other key.
 */
export function partnerChangedChannel(prefix: string): string {
  return `${prefix}:partner-changed`;
}
export const ALL_PARTNERS = '*';

/** Announces that SMSC connections changed (payload: connection id or '*'); connectors rebind. */
export function smscChangedChannel(prefix: string): string {
  return `${prefix}:smsc-changed`;
}
