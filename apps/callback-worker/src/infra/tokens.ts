export const PG_POOL = Symbol('PG_POOL');
/** Commands of the delivery path: partner gates, breaker, test-quota counter (auto-pipelined, fail fast). */
export const REDIS = Symbol('REDIS');
/** Pub/sub subscriber for partner setting changes. */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');
/** Reply MT messages go here, exactly as the ingress queues them. */
export const MT_DISPATCH_QUEUE = Symbol('MT_DISPATCH_QUEUE');
/** Producers' side of the callback queues: re-sends and the sweep. */
export const CALLBACK_DLR_QUEUE = Symbol('CALLBACK_DLR_QUEUE');
export const CALLBACK_MO_QUEUE = Symbol('CALLBACK_MO_QUEUE');
