export const PG_POOL = Symbol('PG_POOL');
/** Pub/sub subscriber for SMSC connection changes. */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');
/** The queues this service adds jobs to (its workers make their own connections). */
export const CALLBACK_DLR_QUEUE = Symbol('CALLBACK_DLR_QUEUE');
export const CALLBACK_MO_QUEUE = Symbol('CALLBACK_MO_QUEUE');
export const TEST_OUTCOME_QUEUE = Symbol('TEST_OUTCOME_QUEUE');
/** A message of a batch job that must be retried gets a single `mt.dispatch` job of its own. */
export const MT_DISPATCH_QUEUE = Symbol('MT_DISPATCH_QUEUE');
