/**
 * Concatenation reference of a message: the same on every run of its job (segments of one message
 * may go out on different runs), and different for consecutive ids (Fibonacci hashing of the id).
 */
export function concatReference(messageId: string): number {
  return Number((BigInt(messageId) * 0x9e3779b1n) & 0xffffffffn) >>> 24;
}
