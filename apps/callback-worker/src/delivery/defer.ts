import { DelayedError, type Job } from 'bullmq';
import { callbackDeferred } from './callback-metrics';

/**
 * Puts the job back as a delayed job due at `at` and ends this run without holding a worker slot
 * (BullMQ's documented manual delay: moveToDelayed, then throw DelayedError). Not a failure and
 * not an attempt.
 */
export async function deferJob(job: Job, token: string, at: number, kind: 'dlr' | 'mo', reason: string): Promise<never> {
  await job.moveToDelayed(Math.max(at, Date.now() + 1), token);
  callbackDeferred.inc({ kind, reason });
  throw new DelayedError();
}
