import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { createRedis } from '@smsgw/common';
import { QUEUES } from '@smsgw/contracts';
import { SCHEDULER_CONFIG, type SchedulerConfig } from '../config';
import { addQueueProbe, QUEUE_GAUGE_STATES, type QueueReading } from '../metrics';

/**
 * One round trip for every queue, read in one consistent moment. ARGV: now in ms, then each
 * queue's key prefix `<prefix>:<queue>:`. Per queue: the lengths getJobCounts reads (wait, active
 * and paused are lists, the others sorted sets) in the order of QUEUE_GAUGE_STATES, then when the
 * oldest job ready to run became ready, or -1. BullMQ 6 keeps a paused queue's jobs in wait; the
 * paused list only holds what a pause made by BullMQ 5 left there, until the queue is resumed.
 * Candidates: the tail of the wait list (the next to run) and of that paused list, the first job
 * of each priority level of the prioritized set (score = priority × 2^32 + a counter), and the
 * first delayed job if its time (score / 2^12) has passed but no worker has moved it yet. A job
 * became ready at its `timestamp` plus its delay: BullMQ sets the hash's `delay` back to 0 when
 * it promotes a delayed job, so the delay asked for at add time comes from `opts`; a job retried
 * after a failure (`processedOn` set) counts from the start of its last attempt.
 */
const READ_QUEUES_LUA = `
local now = tonumber(ARGV[1])
local function readySince(base, id)
  local f = redis.call('HMGET', base .. id, 'timestamp', 'delay', 'opts', 'processedOn')
  local t = tonumber(f[1])
  if not t then return nil end
  local delay = tonumber(f[2]) or 0
  if f[3] then
    local ok, opts = pcall(cjson.decode, f[3])
    if ok and type(opts) == 'table' and tonumber(opts.delay) then delay = math.max(delay, tonumber(opts.delay)) end
  end
  t = t + delay
  local started = tonumber(f[4])
  if started and started > t then t = started end
  return t
end
local out = {}
for i = 2, #ARGV do
  local base = ARGV[i]
  local oldest = -1
  local function consider(t)
    if t and (oldest < 0 or t < oldest) then oldest = t end
  end
  for _, list in ipairs({ 'wait', 'paused' }) do
    local tail = redis.call('LINDEX', base .. list, -1)
    if tail then consider(readySince(base, tail)) end
  end
  local from = '-inf'
  for _ = 1, 100 do
    local first = redis.call('ZRANGEBYSCORE', base .. 'prioritized', from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if #first == 0 then break end
    consider(readySince(base, first[1]))
    from = string.format('%.0f', (math.floor(tonumber(first[2]) / 4294967296) + 1) * 4294967296)
  end
  local delayed = redis.call('ZRANGE', base .. 'delayed', 0, 0, 'WITHSCORES')
  if #delayed > 0 then
    local due = math.floor(tonumber(delayed[2]) / 4096)
    if due <= now then consider(due) end
  end
  out[#out + 1] = {
    redis.call('LLEN', base .. 'wait'), redis.call('LLEN', base .. 'active'), redis.call('ZCARD', base .. 'delayed'),
    redis.call('ZCARD', base .. 'prioritized'), redis.call('ZCARD', base .. 'failed'), redis.call('LLEN', base .. 'paused'), oldest,
  }
end
return out`;

/** The connection with the script defined on it. */
type ReadQueuesCommand = Redis & { smsgwReadQueues(now: number, ...queueKeys: string[]): Promise<number[][]> };

/**
 * Feeds `smsgw_queue_jobs` and `smsgw_queue_oldest_waiting_seconds` at scrape time, for every
 * queue of the platform, on a Redis connection of its own that fails fast: a scrape while Redis is
 * down answers at once without these series. The outage is logged once, and its end once.
 */
@Injectable()
export class QueueGauges implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly log = new Logger('QueueGauges');
  private readonly redis: Redis;
  private readonly queueKeys: string[];
  private failing = false;
  private removeProbe: (() => void) | null = null;

  constructor(@Inject(SCHEDULER_CONFIG) config: SchedulerConfig) {
    this.redis = createRedis(config.REDIS_URL, 'client', { connectTimeout: 1000, commandTimeout: 1000 });
    this.redis.defineCommand('smsgwReadQueues', { numberOfKeys: 0, lua: READ_QUEUES_LUA });
    this.queueKeys = Object.values(QUEUES).map((q) => `${config.REDIS_PREFIX}:${q}:`);
  }

  onModuleInit(): void {
    this.removeProbe = addQueueProbe(() => this.read());
  }

  /** Every queue's counts and oldest waiting job, now. Rejects when Redis does not answer. */
  async read(): Promise<QueueReading[]> {
    const now = Date.now();
    let rows: number[][];
    try {
      rows = await (this.redis as ReadQueuesCommand).smsgwReadQueues(now, ...this.queueKeys);
    } catch (e) {
      if (!this.failing) {
        this.log.warn(`queue gauges: Redis does not answer (${(e as Error).message}); smsgw_queue_* left out of /metrics until it does`);
      }
      this.failing = true;
      throw e;
    }
    if (this.failing) this.log.log('queue gauges: Redis answers again');
    this.failing = false;
    return Object.values(QUEUES).map((queue, i) => {
      const row = rows[i]!;
      const oldest = row[QUEUE_GAUGE_STATES.length]!;
      return {
        queue,
        jobs: Object.fromEntries(QUEUE_GAUGE_STATES.map((s, j) => [s, row[j]!])) as QueueReading['jobs'],
        oldestWaitingSeconds: oldest < 0 ? 0 : Math.max(0, (now - oldest) / 1000),
      };
    });
  }

  onModuleDestroy(): void {
    this.removeProbe?.();
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
