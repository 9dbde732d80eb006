import type { JobsOptions, Queue } from 'bullmq';
import { JOB_SCHEMAS, type JobData, type JobQueue } from './queues';

/** Validates a payload against its queue's schema before it reaches Redis. */
export function parseJob<Q extends JobQueue>(queue: Q, data: unknown): JobData<Q> {
  return JOB_SCHEMAS[queue].parse(data) as JobData<Q>;
}

export interface TypedJob<Q extends JobQueue> {
  data: JobData<Q>;
  opts?: JobsOptions;
}

/** Adds validated jobs in one round trip; the queue's name decides the schema. */
export async function enqueueBulk<Q extends JobQueue>(queue: Queue, name: Q, jobs: TypedJob<Q>[]): Promise<void> {
  if (queue.name !== name) throw new Error(`queue ${queue.name} is not ${name}`);
  await queue.addBulk(jobs.map((j) => ({ name, data: parseJob(name, j.data), opts: j.opts })));
}

export async function enqueue<Q extends JobQueue>(queue: Queue, name: Q, data: JobData<Q>, opts?: JobsOptions): Promise<void> {
  await enqueueBulk(queue, name, [{ data, opts }]);
}
