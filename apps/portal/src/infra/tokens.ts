export const PG_POOL = Symbol('PG_POOL');
/** Commands on the request path: sessions, login throttling (fail fast). */
export const REDIS = Symbol('REDIS');
/** Prisma client for configuration changes (the shared @smsgw/partners code works with it). */
export const PRISMA = Symbol('PRISMA');
