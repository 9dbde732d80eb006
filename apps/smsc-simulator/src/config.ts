import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@smsgw/common';

/** Final states of a delivery receipt's `stat:` field (SMPP 3.4 appendix B) and their message_state. */
export const RECEIPT_STATES = {
  DELIVRD: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIV: 5,
  ACCEPTD: 6,
  UNKNOWN: 7,
  REJECTD: 8,
} as const;
export type ReceiptStat = keyof typeof RECEIPT_STATES;
export const RECEIPT_STATS = Object.keys(RECEIPT_STATES) as [ReceiptStat, ...ReceiptStat[]];

/**
 * `hex` and `decimal`: the same id in submit_sm_resp and in the receipt. `mixed`: hex in the
 * response, the same number in decimal in the receipt's `id:` field, as some real SMSCs do.
 */
export const ID_FORMATS = ['hex', 'decimal', 'mixed'] as const;
export type IdFormat = (typeof ID_FORMATS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Account {
  systemId: string;
  password: string;
}

/** One share of the random outcome mix: `weight` is relative, the mix need not sum to 1. */
export interface OutcomeShare {
  stat: ReceiptStat;
  err: number;
  weight: number;
}

export interface SimulatorConfig {
  smppHost: string;
  /** 0 picks a free port; the bound one is reported by `startSimulator`. */
  smppPort: number;
  httpHost: string;
  httpPort: number;
  accounts: Account[];
  /** Submits a session may have unanswered (matters only with `responseDelayMs`). */
  window: number;
  responseDelayMs: number;
  /** Accepted submits per second per system_id; 0 = unlimited. */
  tps: number;
  idFormat: IdFormat;
  dlrDelayMs: number;
  outcomes: OutcomeShare[];
  /** Seeds the outcome mix and concatenation references; null = a different run each time. */
  seed: number | null;
  /** Submits kept for inspection (oldest dropped first). */
  recordLimit: number;
  /** How long an ESME has to answer a deliver_sm before it is sent again. */
  deliverResponseTimeoutMs: number;
  /** Sends of one receipt (first one included) before the simulator gives up on it. */
  receiptMaxAttempts: number;
  /** deliver_sm a session may have unanswered at once. */
  deliverWindow: number;
  logLevel: LogLevel;
  /** METRICS_PORT: /metrics only there when set (see MetricsModule in @smsgw/common). */
  metricsPort?: number;
  metricsHost: string;
}

const port = z.coerce.number().int().min(0).max(65535);
const nonNegative = z.coerce.number().int().min(0);

export const simulatorEnvSchema = baseConfigSchema.extend({
  /** `::` accepts IPv6 and IPv4 (as IPv4-mapped addresses) on one socket. */
  SIM_SMPP_HOST: z.string().default('::'),
  SIM_SMPP_PORT: port.default(2775),
  SIM_HTTP_HOST: z.string().default('::'),
  SIM_HTTP_PORT: port.default(8025),
  /** `system_id:password` pairs, comma-separated. */
  SIM_ACCOUNTS: z.string().default('smsgw:smsgw').transform((s, ctx) => orIssue(parseAccounts(s), ctx)),
  SIM_WINDOW: z.coerce.number().int().min(1).default(100),
  SIM_RESPONSE_DELAY_MS: nonNegative.default(0),
  SIM_TPS: nonNegative.default(0),
  SIM_ID_FORMAT: z.enum(ID_FORMATS).default('hex'),
  SIM_DLR_DELAY_MS: nonNegative.default(200),
  /** `STAT[:ERR]=weight` pairs, e.g. `DELIVRD=0.95,UNDELIV:001=0.03,EXPIRED=0.02`. */
  SIM_OUTCOMES: z.string().default('DELIVRD=1').transform((s, ctx) => orIssue(parseOutcomes(s), ctx)),
  SIM_SEED: z.coerce.number().int().optional(),
  SIM_RECORD_LIMIT: z.coerce.number().int().min(1).default(100_000),
  SIM_DELIVER_RESPONSE_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
  SIM_RECEIPT_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(4),
  SIM_DELIVER_WINDOW: z.coerce.number().int().min(1).default(10),
});

export function loadSimulatorConfig(env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  const e = loadConfig(simulatorEnvSchema, env);
  return {
    smppHost: e.SIM_SMPP_HOST,
    smppPort: e.SIM_SMPP_PORT,
    httpHost: e.SIM_HTTP_HOST,
    httpPort: e.SIM_HTTP_PORT,
    accounts: e.SIM_ACCOUNTS,
    window: e.SIM_WINDOW,
    responseDelayMs: e.SIM_RESPONSE_DELAY_MS,
    tps: e.SIM_TPS,
    idFormat: e.SIM_ID_FORMAT,
    dlrDelayMs: e.SIM_DLR_DELAY_MS,
    outcomes: e.SIM_OUTCOMES,
    seed: e.SIM_SEED ?? null,
    recordLimit: e.SIM_RECORD_LIMIT,
    deliverResponseTimeoutMs: e.SIM_DELIVER_RESPONSE_TIMEOUT_MS,
    receiptMaxAttempts: e.SIM_RECEIPT_MAX_ATTEMPTS,
    deliverWindow: e.SIM_DELIVER_WINDOW,
    logLevel: e.LOG_LEVEL,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
  };
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function orIssue<T>(parsed: Parsed<T>, ctx: z.RefinementCtx): T {
  if (parsed.ok) return parsed.value;
  ctx.addIssue(parsed.error);
  return z.NEVER;
}

export function parseAccounts(s: string): Parsed<Account[]> {
  const accounts: Account[] = [];
  for (const item of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const colon = item.indexOf(':');
    if (colon <= 0) return { ok: false, error: `account "${item}" is not system_id:password` };
    accounts.push({ systemId: item.slice(0, colon), password: item.slice(colon + 1) });
  }
  if (accounts.length === 0) return { ok: false, error: 'no account configured' };
  return { ok: true, value: accounts };
}

export function parseOutcomes(s: string): Parsed<OutcomeShare[]> {
  const shares: OutcomeShare[] = [];
  for (const item of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Z]+)(?::(\d{1,3}))?=(\d+(?:\.\d+)?)$/.exec(item);
    if (!m || !(m[1] in RECEIPT_STATES)) {
      return { ok: false, error: `outcome "${item}" is not STAT[:ERR]=weight with STAT one of ${RECEIPT_STATS.join(', ')}` };
    }
    shares.push({ stat: m[1] as ReceiptStat, err: m[2] === undefined ? 0 : Number(m[2]), weight: Number(m[3]) });
  }
  if (!shares.some((x) => x.weight > 0)) return { ok: false, error: 'outcome weights must not all be zero' };
  return { ok: true, value: shares };
}

export const SIMULATOR_CONFIG = Symbol('SIMULATOR_CONFIG');
