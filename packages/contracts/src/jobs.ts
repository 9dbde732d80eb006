import type { JobsOptions } from 'bullmq';
import { bullPriority, dispatchJobId, dlrJobId, MAX_DISPATCH_BATCH, moJobId, type MtDispatchBatch, type QueueName } from './queues';

/**
 * Job options every producer uses, so that the same message or report queued by two components
 * (the ingress and the scheduler's release or outbox sweep; the connector and the scheduler's
 * report sweep) is one job. Completed jobs are removed at once: a queue holds only work to do.
 */
export function dispatchJobOptions(messageId: string, smsPriority: 0 | 1 | 2): JobsOptions {
  return { jobId: dispatchJobId(messageId), priority: bullPriority(smsPriority), removeOnComplete: true, removeOnFail: 10_000 };
}

/**
 * Options of a batch job (MtDispatchBatch) of messages of one priority. No job id: a batch is not
 * a message, and adding the same messages twice is made harmless by the connector's claim guard.
 */
export function dispatchBatchJobOptions(smsPriority: 0 | 1 | 2): JobsOptions {
  return { priority: bullPriority(smsPriority), removeOnComplete: true, removeOnFail: 10_000 };
}

/**
 * Batch jobs for `messages`: one per priority present (in the order first seen), each at most
 * MAX_DISPATCH_BATCH messages.
 */
export function dispatchBatches(messages: MtDispatchBatch['messages']): Array<{ data: MtDispatchBatch; opts: JobsOptions }> {
  const byPriority = new Map<0 | 1 | 2, MtDispatchBatch['messages']>();
  for (const m of messages) {
    const list = byPriority.get(m.priority);
    if (list) list.push(m);
    else byPriority.set(m.priority, [m]);
  }
  const jobs: Array<{ data: MtDispatchBatch; opts: JobsOptions }> = [];
  for (const [priority, list] of byPriority) {
    for (let i = 0; i < list.length; i += MAX_DISPATCH_BATCH) {
      jobs.push({ data: { messages: list.slice(i, i + MAX_DISPATCH_BATCH) }, opts: dispatchBatchJobOptions(priority) });
    }
  }
  return jobs;
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
