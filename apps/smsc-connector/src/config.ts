import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@smsgw/common';

const ms = z.coerce.number().int().min(0);
const positiveMs = z.coerce.number().int().min(1);

export const connectorConfigSchema = baseConfigSchema.extend({
  /** /health, /metrics and /connections. */
  CONNECTOR_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  CONNECTOR_HTTP_HOST: z.string().default('::'),
  /**
   * Most mt.dispatch jobs in progress at once. The connector takes twice the submits its
   * connections can have in flight (window, or TPS if smaller; at least 10), up to this.
   */
  CONNECTOR_CONCURRENCY: z.coerce.number().int().min(1).max(2000).default(500),
  CONNECTOR_DB_POOL: z.coerce.number().int().min(2).max(100).default(10),
  /** Retry of a message after a temporary failure: exponential from BASE, capped at MAX, with jitter; until valid_until. */
  CONNECTOR_RETRY_BASE_MS: positiveMs.default(1000),
  CONNECTOR_RETRY_MAX_MS: positiveMs.default(60_000),
  /** Reconnect after a lost or refused bind: exponential from BASE, capped at MAX, with jitter. */
  CONNECTOR_RECONNECT_BASE_MS: positiveMs.default(1000),
  CONNECTOR_RECONNECT_MAX_MS: positiveMs.default(30_000),
  CONNECTOR_ENQUIRE_LINK_MS: positiveMs.default(30_000),
  /** Time an SMSC has to answer submit_sm (and bind, enquire_link, unbind). */
  CONNECTOR_SUBMIT_TIMEOUT_MS: positiveMs.default(10_000),
  /** After ESME_RTHROTTLED, the connection sends nothing for this long. */
  CONNECTOR_THROTTLE_PAUSE_MS: ms.default(1000),
  /** Full reload of smsc_connection rows, in addition to change notifications. */
  CONNECTOR_RELOAD_SECONDS: z.coerce.number().int().min(1).default(60),
  /** At shutdown: how long to wait for jobs in progress and submit responses before unbinding anyway. */
  CONNECTOR_SHUTDOWN_TIMEOUT_MS: positiveMs.default(10_000),
  /** Incomplete concatenated MO are stored as received after this long without a new part. */
  MO_REASSEMBLY_TIMEOUT_MS: positiveMs.default(60_000),
  /** Delay of the simulated operator that answers test-mode messages (PROTOCOL §8). */
  SIM_TEST_DLR_DELAY_MS: ms.default(1000),
  /**
   * A test-mode message still waiting for its simulated outcome this long after SIM_TEST_DLR_DELAY_MS
   * lost its mt.test-outcome job (Redis lost it): the receipt sweep gives it its outcome directly.
   */
  SIM_TEST_OUTCOME_GRACE_MS: ms.default(300_000),
  /**
   * A message handed over whose receipt has not come this long after its valid_until (when the
   * SMSC must have given up) ends 5 / unifiedExtStatus 2 (expired): receipts get lost (an SMSC restart).
   */
  RECEIPT_WAIT_GRACE_MS: ms.default(3_600_000),
  RECEIPT_SWEEP_INTERVAL_MS: positiveMs.default(60_000),
  /**
   * The local journal of receipts and MO: a deliver_sm is answered once its record is here, and
   * applied to PostgreSQL from here; kept in `<database>/smsc-connector` below it. One directory per
   * connector instance (the journal locks it), on a disk that outlives the process (a volume in
   * containers).
   */
  CONNECTOR_JOURNAL_DIR: z.string().min(1).default('var/journal'),
  /** Records not yet applied beyond which a deliver_sm is refused with a temporary error (the SMSC resends later). */
  CONNECTOR_JOURNAL_MAX_PENDING: z.coerce.number().int().min(1).default(500_000),
  /**
   * A receipt whose SMSC id matches no segment is looked for by content (subscriber, sender, submit
   * date, text excerpt) once it has waited this long: far beyond a submit_sm_resp being recorded,
   * the normal reason for a receipt to come first. Its segment's id was lost with a crash.
   */
  RECEIPT_MATCH_GRACE_MS: ms.default(15_000),
  /** How often parked receipts are looked at. */
  RECEIPT_MATCH_INTERVAL_MS: positiveMs.default(5000),
  /**
   * A receipt fits a message claimed this long before or after its `submit date` minute: the SMSC's
   * clock, and the segments of a message that went out a while after it was claimed.
   */
  RECEIPT_MATCH_TOLERANCE_MS: ms.default(600_000),
  /**
   * Lock of a job in progress (mt.dispatch, mt.test-outcome), and how often expired locks are looked
   * for: the jobs of a connector that died run again, on a connector alive, within about the two together.
   */
  CONNECTOR_JOB_LOCK_MS: positiveMs.default(30_000),
  CONNECTOR_STALLED_INTERVAL_MS: positiveMs.default(30_000),
  /**
   * After a link loss, a deliver_sm identical to one answered OK in the last seconds before it is
   * taken as the SMSC's resend (its answer lost with the link) for this long, and not stored again.
   */
  CONNECTOR_RESEND_MATCH_MS: ms.default(600_000),
});
export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;
export const CONNECTOR_CONFIG = Symbol('CONNECTOR_CONFIG');

export function loadConnectorConfig(env: NodeJS.ProcessEnv = process.env): ConnectorConfig {
  return loadConfig(connectorConfigSchema, env);
}
