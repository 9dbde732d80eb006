/** The connections an app gives the intake (its `IntakeInfraModule`, or the app's own providers). */
export const PG_POOL = Symbol('PG_POOL');
/** Commands on the request path (auto-pipelined, fail fast). */
export const REDIS = Symbol('REDIS');
/** Pub/sub subscriber for configuration changes. */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');
export const MT_DISPATCH_QUEUE = Symbol('MT_DISPATCH_QUEUE');
export const INTAKE_CONFIG = Symbol('INTAKE_CONFIG');

/** What the intake needs of its app's settings, whatever the app calls them. */
export interface IntakeConfig {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** PostgreSQL connections of the app (the group commit keeps two free for everything else). */
  dbPool: number;
  /** Most messages in one group-commit INSERT. */
  batchMax: number;
  /** How long committed immediate messages gather into one `mt.dispatch` job (0: a job per commit). */
  dispatchGatherMs: number;
  /** Full reload of partner settings, in case a change notification was lost. */
  partnerReloadSeconds: number;
  /** What the app calls itself in PostgreSQL's `application_name`. */
  applicationName: string;
  /** NODE_ENV and API_PASSWORD_PEPPER: production refuses to start on the development pepper or seeded passwords. */
  nodeEnv: string;
  apiPasswordPepper: string;
}
