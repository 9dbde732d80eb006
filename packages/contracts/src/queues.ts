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

/**
 * The W3C `traceparent` of a traced message (docs/architecture.md, tracing): carried per message,
 * since one job holds many. Absent when tracing is off or the message was not sampled.
 */
const Traceparent = z.string().max(64).optional();

/** A stored message ready to be handed to an SMSC. The row in PostgreSQL is the truth. */
export const MtDispatchMessage = z.object({
  messageId: z.string().regex(/^[1-9][0-9]{0,18}$/),
  partnerId: z.number().int().positive(),
  priority: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  /**
   * Runs of this message before this job (a message a batch could not send gets a job of its own
   * carrying the count, so its backoff keeps growing). Absent: none.
   */
  attempt: z.number().int().positive().optional(),
  traceparent: Traceparent,
});
export type MtDispatchMessage = z.infer<typeof MtDispatchMessage>;

/** Messages per batch job at most: one job's run stays short and its re-run after a crash small. */
export const MAX_DISPATCH_BATCH = 500;

/**
 * Messages of one priority committed together (an ingress group commit, a release batch): one job
 * instead of one per message, which saves Redis most of its per-job bookkeeping.
 */
export const MtDispatchBatch = z
  .object({ messages: z.array(MtDispatchMessage.omit({ attempt: true })).min(1).max(MAX_DISPATCH_BATCH) })
  .refine((b) => b.messages.every((m) => m.priority === b.messages[0]!.priority), { message: 'a batch holds messages of one priority' });
export type MtDispatchBatch = z.infer<typeof MtDispatchBatch>;

/**
 * An `mt.dispatch` job: one message (job id `m<id>`: the outbox sweep, MO replies, retries) or a
 * batch (an id of BullMQ's own).
 */
export const MtDispatchJob = z.union([MtDispatchMessage, MtDispatchBatch]);
export type MtDispatchJob = z.infer<typeof MtDispatchJob>;

export function isDispatchBatch(job: MtDispatchJob): job is MtDispatchBatch {
  return 'messages' in job;
}

/** A message reached a status the partner is told about (final, or 0 with intermediate reports). */
export const DeliveryReport = z.object({
  messageId: z.string().regex(/^[1-9][0-9]{0,18}$/),
  partnerId: z.number().int().positive(),
  status: z.union([z.literal(0), z.literal(2), z.literal(5)]),
  traceparent: Traceparent,
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
