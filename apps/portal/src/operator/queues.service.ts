import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { createRedis } from '@smsgw/common';
import { QUEUES } from '@smsgw/contracts';
import { PORTAL_CONFIG, type PortalConfig } from '../config';

// No 'paused': since BullMQ 6 a paused queue keeps its jobs in waiting/prioritized and only marks itself paused.
const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed', 'waiting-children'] as const;

/** The platform's BullMQ queues, for their depths here and for Bull Board (/operator/queues/). */
@Injectable()
export class QueuesService implements OnApplicationShutdown {
  readonly queues: Queue[];
  private readonly connection;

  constructor(@Inject(PORTAL_CONFIG) config: PortalConfig) {
    this.connection = createRedis(config.REDIS_URL, 'blocking', { lazyConnect: true });
    this.queues = Object.values(QUEUES).map((name) => new Queue(name, { prefix: config.REDIS_PREFIX, connection: this.connection }));
  }

  async counts(): Promise<Array<{ name: string; counts: Record<string, number> }>> {
    return Promise.all(this.queues.map(async (q) => ({ name: q.name, counts: await q.getJobCounts(...STATES) })));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.queues.map((q) => q.close()));
    this.connection.disconnect();
  }
}
