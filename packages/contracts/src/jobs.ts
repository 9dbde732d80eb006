import type { JobsOptions } from 'bullmq';
import { bullPriority, dispatchJobId, dlrJobId, moJobId, type QueueName } from './queues';

/**
 * Job options every producer uses, so that the same message or report queued by two components
 * (the ingress and the scheduler's release or outbox sweep; the connector and the scheduler's
 * report sweep) is one job. Completed jobs are removed at once: a queue holds only work to do.
 */
export function dispatchJobOptions(messageId: string, smsPriority: 0 | 1 | 2): JobsOptions {
  return { jobId: dispatchJobId(messageId), priority: bullPriority(smsPriority), removeOnComplete: true, removeOnFail: 10_000 };
}

export function dlrJobOptions(messageId: string, status: number): JobsOptions {
  return { jobId: dlrJobId(messageId, status), removeOnComplete: true, removeOnFail: 10_000 };
}

/** A batch of reports: no job id (each batch is new work; its reports' states guard repeats). */
export function dlrBatchJobOptions(): JobsOptions {
  return { removeOnComplete: true, removeOnFail: 10_000 };
}

export function moJobOptions(moId: string): JobsOptions {
  return { jobId: moJobId(moId), removeOnComplete: true, removeOnFail: 10_000 };
}

/**
 * The Redis key of a BullMQ job's hash (`<prefix>:<queue>:<jobId>`). It exists from the add until
 * the job is removed (completed, or failed beyond removeOnFail), whatever state the job is in,
 * so `EXISTS` tells whether a job for that id is still somewhere in the queue.
 */
export function bullJobKey(prefix: string, queue: QueueName, jobId: string): string {
  return `${prefix}:${queue}:${jobId}`;
}
