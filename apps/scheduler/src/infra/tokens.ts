export const PG_POOL = Symbol('PG_POOL');
/** Commands of the sweeps (job existence checks): auto-pipelined, fail fast. */
export const REDIS = Symbol('REDIS');
/** Producer side of the queues the scheduler feeds. */
export const MT_DISPATCH_QUEUE = Symbol('MT_DISPATCH_QUEUE');
export const CALLBACK_DLR_QUEUE = Symbol('CALLBACK_DLR_QUEUE');
export const CALLBACK_MO_QUEUE = Symbol('CALLBACK_MO_QUEUE');
