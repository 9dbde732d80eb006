/**
 * Where the scheduler's "now" comes from. Every task reads it once per run and passes it into
 * its SQL as a parameter (never SQL's now()), so tests can move time.
 */
export interface Clock {
  now(): Date;
}
export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = { now: () => new Date() };
