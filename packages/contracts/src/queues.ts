import { z } from 'zod';

/**
 * Queue names are string literals stored in Redis with every job: renaming one strands the jobs
 * already queued under the old name. Never derive them from class names.
 */
export const QUEUES = {
  MT_DISPATCH: 'mt.dispatch',
  CALLBACK_DLR: 'callback.dlr',
  CALLBACK_MO: 'callback.mo',
  /** Internal to smsc-connector: the simulated operator's outcome for a test-mode message (PROTOCOL §8). */
  MT_TEST_OUTCOME: 'mt.test-outcome',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** A stored message ready to be handed to an SMSC. The row in PostgreSQL is the truth. */
export const MtDispatchJob = z.object({
  messageId: z.string().regex(/^[1-9][0-9]{0,18}$/),
  partnerId: z.number().int().positive(),
  priority: z.union([z.literal(0), z.literal(1), z.literal(2)]),
});
export type MtDispatchJob = z.infer<typeof MtDispatchJob>;

/** A message reached a status the partner is told about (final, or 0 with intermediate reports). */
export const DeliveryReport = z.object({
  messageId: z.string().regex(/^[1-9][0-9]{0,18}$/),
  partnerId: z.number().int().positive(),
  status: z.union([z.literal(0), z.literal(2), z.literal(5)]),
});
export type DeliveryReport = z.infer<typeof DeliveryReport>;

/** Most reports one batch job carries. */
export const MAX_DLR_BATCH = 100;

/**
 * Reports the connector queued together: one job instead of one per report (each job costs
 * several Redis scripts). It has no deterministic id; a report of it that must wait (retry,
 * partner busy, breaker open) gets its own single job `d<id>-<status>`.
 */
export const DeliveryReportBatch = z.object({
  reports: z.array(DeliveryReport).min(1).max(MAX_DLR_BATCH),
});
export type DeliveryReportBatch = z.infer<typeof DeliveryReportBatch>;

/**
 * A `callback.dlr` job: one report (job id `d<id>-<status>`: retries, re-sends, the scheduler's
 * report sweep) or a batch of reports (the connector).
 */
export const CallbackDlrJob = z.union([DeliveryReport, DeliveryReportBatch]);
export type CallbackDlrJob = z.infer<typeof CallbackDlrJob>;

export function isDeliveryReportBatch(job: CallbackDlrJob): job is DeliveryReportBatch {
  return 'reports' in job;
}

/** A stored MO to push to its partner's MO URL. */
export const CallbackMoJob = z.object({
  moId: z.string().regex(/^[1-9][0-9]{0,18}$/),
  partnerId: z.number().int().positive(),
});
export type CallbackMoJob = z.infer<typeof CallbackMoJob>;

/** A test-mode message handed to the simulated operator, due for its outcome (a delayed job). */
export const MtTestOutcomeJob = z.object({
  messageId: z.string().regex(/^[1-9][0-9]{0,18}$/),
});
export type MtTestOutcomeJob = z.infer<typeof MtTestOutcomeJob>;

export const JOB_SCHEMAS = {
  [QUEUES.MT_DISPATCH]: MtDispatchJob,
  [QUEUES.CALLBACK_DLR]: CallbackDlrJob,
  [QUEUES.CALLBACK_MO]: CallbackMoJob,
  [QUEUES.MT_TEST_OUTCOME]: MtTestOutcomeJob,
} as const;
export type JobSchemas = typeof JOB_SCHEMAS;
export type JobQueue = keyof JobSchemas;
export type JobData<Q extends JobQueue> = z.infer<JobSchemas[Q]>;

/**
 * BullMQ priority for a message priority (lower number = served first). Every job carries one,
 * because BullMQ serves non-prioritised jobs before prioritised ones.
 */
export function bullPriority(smsPriority: 0 | 1 | 2): number {
  return 3 - smsPriority;
}

/** The BullMQ job id of a message's dispatch job: re-enqueueing the same message is a no-op. */
export function dispatchJobId(messageId: string): string {
  return `m${messageId}`;
}

/** Job id of a DLR callback: one report per message and status, however often it is enqueued. */
export function dlrJobId(messageId: string, status: number): string {
  return `d${messageId}-${status}`;
}

/** Job id of an MO callback. */
export function moJobId(moId: string): string {
  return `mo${moId}`;
}

/** Job id of a test-mode message's simulated outcome: handing it over twice schedules one outcome. */
export function testOutcomeJobId(messageId: string): string {
  return `t${messageId}`;
}
