import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type Redis from 'ioredis';
import {
  bullJobKey,
  dispatchJobId,
  dispatchBatches,
  dispatchJobOptions,
  dlrJobId,
  dlrJobOptions,
  enqueueBulk,
  moJobId,
  moJobOptions,
  QUEUES,
  type MtDispatchMessage,
  type QueueName,
} from '@smsgw/contracts';
import { SCHEDULER_CONFIG, type SchedulerConfig } from '../config';
import { CALLBACK_DLR_QUEUE, CALLBACK_MO_QUEUE, MT_DISPATCH_QUEUE, REDIS } from '../infra/tokens';

export interface DispatchRef {
  id: string;
  partnerId: number;
  priority: 0 | 1 | 2;
  /** The message's trace (tracing on, sampled): its job carries it on. */
  traceparent: string | null;
}

/** A message's `mt.dispatch` item, with its traceparent when it has one. */
function dispatchItem(m: DispatchRef): MtDispatchMessage {
  return m.traceparent ? { messageId: m.id, partnerId: m.partnerId, priority: m.priority, traceparent: m.traceparent } : { messageId: m.id, partnerId: m.partnerId, priority: m.priority };
}

export interface ReportRef {
  messageId: string;
  partnerId: number;
  status: 0 | 2 | 5;
}

export interface MoRef {
  moId: string;
  partnerId: number;
}

/** Jobs per addBulk: one round trip each, small enough not to hold Redis for long. */
const CHUNK = 1000;

/**
 * The scheduler's side of the queues: it adds jobs exactly as their first producers do (same ids,
 * priorities and options, from @smsgw/contracts), so a job added twice is one job while it
 * exists, and it asks Redis which jobs are gone.
 */
@Injectable()
export class Jobs {
  constructor(
    @Inject(MT_DISPATCH_QUEUE) private readonly dispatchQueue: Queue,
    @Inject(CALLBACK_DLR_QUEUE) private readonly dlrQueue: Queue,
    @Inject(CALLBACK_MO_QUEUE) private readonly moQueue: Queue,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig,
  ) {}

  /**
   * One `m<id>` job per message: the outbox sweep's way, whose EXISTS checks look for exactly
   * these ids.
   */
  async dispatch(messages: DispatchRef[]): Promise<void> {
    for (let i = 0; i < messages.length; i += CHUNK) {
      const chunk = messages.slice(i, i + CHUNK);
      await enqueueBulk(
        this.dispatchQueue,
        QUEUES.MT_DISPATCH,
        chunk.map((m) => ({ data: dispatchItem(m), opts: dispatchJobOptions(m.id, m.priority) })),
      );
    }
  }

  /**
   * Batch jobs (one per priority, up to MAX_DISPATCH_BATCH messages each): the release's way, one
   * job per batch instead of one per message. These messages have no `m<id>` job, so the outbox
   * sweep may add one for a message still waiting in its batch past the grace; the connector's
   * claim guard makes that second job harmless.
   */
  async dispatchBatched(messages: DispatchRef[]): Promise<void> {
    await enqueueBulk(
      this.dispatchQueue,
      QUEUES.MT_DISPATCH,
      dispatchBatches(messages.map(dispatchItem)),
    );
  }

  async reports(reports: ReportRef[]): Promise<void> {
    for (let i = 0; i < reports.length; i += CHUNK) {
      await enqueueBulk(
        this.dlrQueue,
        QUEUES.CALLBACK_DLR,
        reports.slice(i, i + CHUNK).map((r) => ({ data: r, opts: dlrJobOptions(r.messageId, r.status) })),
      );
    }
  }

  async incomingMessages(mos: MoRef[]): Promise<void> {
    for (let i = 0; i < mos.length; i += CHUNK) {
      await enqueueBulk(
        this.moQueue,
        QUEUES.CALLBACK_MO,
        mos.slice(i, i + CHUNK).map((m) => ({ data: m, opts: moJobOptions(m.moId) })),
      );
    }
  }

  /** The messages among `ids` that have no single `mt.dispatch` job (`m<id>`; batch jobs are not seen). */
  async withoutDispatchJob(ids: string[]): Promise<Set<string>> {
    return this.missing(QUEUES.MT_DISPATCH, ids, dispatchJobId);
  }

  /** The reports (message id and status) that have no `callback.dlr` job. */
  async withoutReportJob<R extends { messageId: string; status: number }>(reports: R[]): Promise<R[]> {
    const gone = await this.missing(QUEUES.CALLBACK_DLR, reports.map((r) => dlrJobId(r.messageId, r.status)), (id) => id);
    return reports.filter((r) => gone.has(dlrJobId(r.messageId, r.status)));
  }

  async withoutMoJob(moIds: string[]): Promise<Set<string>> {
    return this.missing(QUEUES.CALLBACK_MO, moIds, moJobId);
  }

  /** One pipelined EXISTS per id. */
  private async missing(queue: QueueName, ids: string[], jobId: (id: string) => string): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.exists(bullJobKey(this.config.REDIS_PREFIX, queue, jobId(id)));
    const results = (await pipeline.exec()) ?? [];
    const gone = new Set<string>();
    ids.forEach((id, i) => {
      const [err, n] = results[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      if (n === 0) gone.add(id);
    });
    return gone;
  }
}
