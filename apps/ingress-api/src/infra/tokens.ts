// The connections come from the intake package's module (IntakeModule), shared with the SMPP server.
export { MT_DISPATCH_QUEUE, PG_POOL, REDIS, REDIS_SUBSCRIBER } from '@smsgw/intake';
