export const PG_POOL = Symbol('PG_POOL');
/** Commands on the request path (auto-pipelined, fail fast). */
export const REDIS = Symbol('REDIS');
/** Pub/sub subscriber for configuration changes. */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');
export const MT_DISPATCH_QUEUE = Symbol('MT_DISPATCH_QUEUE');
