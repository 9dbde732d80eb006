import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { Batcher } from '@smsgw/common';
import { INGRESS_CONFIG, type IngressConfig } from '../config';
import { REDIS } from '../infra/tokens';

/**
 * Token bucket shared by every ingress instance: `rate` tokens per second, burst `rate`.
 * Redis's own clock is used so that instances with skewed clocks agree. ARGV[2] requests take a
 * token each, in order, as if they had come one after the other at this instant: the first
 * `granted` of them get one (the return value), the others are over the limit.
 */
const RATE_LIMIT_LUA = `
local rate = tonumber(ARGV[1])
local wanted = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 't', 'v')
local last = tonumber(state[1])
local tokens = tonumber(state[2])
if last == nil or tokens == nil then
  last = now
  tokens = rate
end
tokens = math.min(rate, tokens + math.max(0, now - last) * rate / 1000)
local granted = math.min(wanted, math.floor(tokens))
if granted < 0 then granted = 0 end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 't', now, 'v', tostring(tokens))
redis.call('PEXPIRE', KEYS[1], 2000)
return granted
`;

/** Counter with a ceiling: increments unless that would exceed ARGV[1]; sets the TTL on creation. */
const BOUNDED_INCR_LUA = `
local n = redis.call('INCR', KEYS[1])
if n == 1 and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
`;

/** Test-mode quota: the counter is seeded from PostgreSQL when Redis does not have it. */
const QUOTA_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = redis.call('INCR', KEYS[1])
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
`;

interface LimitCommands {
  smsRateLimit(key: string, rate: number, wanted: number): Promise<number>;
  smsBoundedIncr(key: string, max: number, ttlMs: number): Promise<number>;
  smsQuota(key: string, quota: number): Promise<number>;
}

export type IdempotencyState = { state: 'new' } | { state: 'pending' } | { state: 'done'; id: string; segments: number };

/** How long a first request may stay in flight before a repeat is allowed to take over. */
const IDEMPOTENCY_PENDING_MS = 30_000;
/** How long a finished answer is replayed from Redis; PostgreSQL's unique key covers later repeats. */
const IDEMPOTENCY_DONE_S = 7 * 24 * 3600;

/** Per-partner limits kept in Redis so that they hold across ingress instances. */
@Injectable()
export class LimitsService {
  private readonly redis: Redis & LimitCommands;
  private readonly prefix: string;
  /**
   * Requests parsed in the same turn of the event loop take their rate tokens together: one
   * script call per partner and turn instead of one per request (the script was the ingress's
   * largest Redis cost per message).
   */
  private readonly rateTokens = new Batcher<{ partnerId: number; rate: number }, boolean>((r) => this.takeRateTokens(r), {
    maxBatch: 1000,
    maxInFlight: 4,
    name: 'limits.rate',
  });

  constructor(@Inject(REDIS) redis: Redis, @Inject(INGRESS_CONFIG) config: IngressConfig) {
    redis.defineCommand('smsRateLimit', { numberOfKeys: 1, lua: RATE_LIMIT_LUA });
    redis.defineCommand('smsBoundedIncr', { numberOfKeys: 1, lua: BOUNDED_INCR_LUA });
    redis.defineCommand('smsQuota', { numberOfKeys: 1, lua: QUOTA_LUA });
    this.redis = redis as Redis & LimitCommands;
    this.prefix = config.REDIS_PREFIX;
  }

  /** false: the partner's messages-per-second limit is used up (408). */
  takeRateToken(partnerId: number, rate: number): Promise<boolean> {
    return this.rateTokens.submit({ partnerId, rate });
  }

  private async takeRateTokens(requests: Array<{ partnerId: number; rate: number }>): Promise<boolean[]> {
    const byPartner = new Map<number, { rate: number; at: number[] }>();
    requests.forEach((r, i) => {
      const group = byPartner.get(r.partnerId);
      if (group) group.at.push(i);
      else byPartner.set(r.partnerId, { rate: r.rate, at: [i] });
    });
    const taken = new Array<boolean>(requests.length).fill(false);
    // One call per partner; auto-pipelining sends them in one write.
    await Promise.all(
      [...byPartner].map(async ([partnerId, group]) => {
        const granted = await this.redis.smsRateLimit(`${this.prefix}:rate:${partnerId}`, group.rate, group.at.length);
        group.at.forEach((i, n) => (taken[i] = n < granted));
      }),
    );
    return taken;
  }

  /** false: the same text went to the same number `max` times within the window already (409). */
  async takeDuplicateSlot(partnerId: number, msisdn: string, text: string, max: number, windowHours: number): Promise<boolean> {
    return (await this.redis.smsBoundedIncr(this.duplicateKey(partnerId, msisdn, text), max, windowHours * 3600_000)) === 1;
  }

  async releaseDuplicateSlot(partnerId: number, msisdn: string, text: string): Promise<void> {
    await this.redis.decr(this.duplicateKey(partnerId, msisdn, text));
  }

  /**
   * Takes one test message from the quota: true if taken, false if used up (402), null if the
   * counter must first be seeded from PostgreSQL (see `seedTestQuota`).
   */
  async takeTestQuota(partnerId: number, quota: number): Promise<boolean | null> {
    const r = await this.redis.smsQuota(this.quotaKey(partnerId), quota);
    return r === -1 ? null : r === 1;
  }

  async seedTestQuota(partnerId: number, used: number): Promise<void> {
    await this.redis.set(this.quotaKey(partnerId), String(used), 'NX');
  }

  async releaseTestQuota(partnerId: number): Promise<void> {
    await this.redis.decr(this.quotaKey(partnerId));
  }

  /** Claims a partnerMsgId, or tells that it is in flight or answered already. */
  async claimPartnerMsgId(partnerId: number, partnerMsgId: string): Promise<IdempotencyState> {
    const key = this.idempotencyKey(partnerId, partnerMsgId);
    const claimed = await this.redis.set(key, 'pending', 'PX', IDEMPOTENCY_PENDING_MS, 'NX');
    if (claimed === 'OK') return { state: 'new' };
    const value = await this.redis.get(key);
    if (value === null) return this.claimPartnerMsgId(partnerId, partnerMsgId); // expired meanwhile
    if (value === 'pending') return { state: 'pending' };
    const [id, segments] = value.split(':');
    return { state: 'done', id: id as string, segments: Number(segments) };
  }

  async finishPartnerMsgId(partnerId: number, partnerMsgId: string, id: string, segments: number): Promise<void> {
    await this.redis.set(this.idempotencyKey(partnerId, partnerMsgId), `${id}:${segments}`, 'EX', IDEMPOTENCY_DONE_S);
  }

  /** The first request failed: a repeat is processed afresh. */
  async abandonPartnerMsgId(partnerId: number, partnerMsgId: string): Promise<void> {
    await this.redis.del(this.idempotencyKey(partnerId, partnerMsgId));
  }

  private idempotencyKey(partnerId: number, partnerMsgId: string): string {
    return `${this.prefix}:idem:${partnerId}:${partnerMsgId}`;
  }

  private duplicateKey(partnerId: number, msisdn: string, text: string): string {
    const digest = createHash('sha1').update(msisdn).update('\0').update(text).digest('base64url');
    return `${this.prefix}:dup:${partnerId}:${digest}`;
  }

  private quotaKey(partnerId: number): string {
    return `${this.prefix}:testq:${partnerId}`;
  }
}
