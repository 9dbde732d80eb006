import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { Batcher } from '@smsgw/common';
import { INTAKE_CONFIG, REDIS, type IntakeConfig } from './tokens';

/**
 * Admission of the requests of one partner parsed in one turn, in order, in one round trip.
 *
 * The rate limit is a token bucket shared by every ingress instance: `rate` tokens per second,
 * burst `rate`, on Redis's own clock so that instances with skewed clocks agree; the requests take
 * a token each, in order, as if they had come one after the other at this instant.
 *
 * Each request with a partnerMsgId first claims it (SET NX of `pending`, expiring after the
 * pending time); a request whose id is in flight or answered already takes no token and gets the
 * key's value. Every other request takes a token; one that finds none is over the limit, and the
 * id it claimed is given up at once, so that a retry starts afresh.
 * KEYS[1] the bucket, KEYS[2..] the claimed ids' keys. ARGV: rate, pending ms, then one entry per
 * request: the index of its key in KEYS, or 0 without a partnerMsgId.
 * Returns one entry per request: 'ok', 'limited', or the value found ('pending' or '<id>:<segments>').
 */
const ADMIT_LUA = `
local rate = tonumber(ARGV[1])
local pendingMs = ARGV[2]
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
local out = {}
for i = 3, #ARGV do
  local k = tonumber(ARGV[i])
  local verdict = nil
  if k > 0 then
    if not redis.call('SET', KEYS[k], 'pending', 'PX', pendingMs, 'NX') then verdict = redis.call('GET', KEYS[k]) end
  end
  if verdict == nil then
    if tokens >= 1 then
      tokens = tokens - 1
      verdict = 'ok'
    else
      if k > 0 then redis.call('DEL', KEYS[k]) end
      verdict = 'limited'
    end
  end
  out[#out + 1] = verdict
end
redis.call('HSET', KEYS[1], 't', now, 'v', tostring(tokens))
redis.call('PEXPIRE', KEYS[1], 2000)
return out
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
  smsAdmit(numKeys: number, ...keysAndArgs: Array<string | number>): Promise<string[]>;
  smsBoundedIncr(key: string, max: number, ttlMs: number): Promise<number>;
  smsQuota(key: string, quota: number): Promise<number>;
}

/**
 * `new`: the request may go on (its partnerMsgId, if any, claimed and a rate token taken);
 * `limited`: no token (408); `pending` / `done`: its partnerMsgId is in flight or answered.
 */
export type Admission = { state: 'new' } | { state: 'limited' } | { state: 'pending' } | { state: 'done'; id: string; segments: number };

interface AdmitRequest {
  partnerId: number;
  rate: number;
  partnerMsgId: string | null;
}

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
   * Requests parsed in the same turn of the event loop are admitted together (`admit`): one script
   * call per partner and turn carries their partnerMsgId claims and rate tokens. (The token script
   * per turn was the ingress's largest Redis cost per message; the claim was a round trip of its
   * own before it.)
   */
  private readonly admissions = new Batcher<AdmitRequest, Admission>((r) => this.admitMany(r), {
    maxBatch: 1000,
    maxInFlight: 4,
    name: 'limits.admit',
  });

  constructor(@Inject(REDIS) redis: Redis, @Inject(INTAKE_CONFIG) config: IntakeConfig) {
    redis.defineCommand('smsAdmit', { lua: ADMIT_LUA });
    redis.defineCommand('smsBoundedIncr', { numberOfKeys: 1, lua: BOUNDED_INCR_LUA });
    redis.defineCommand('smsQuota', { numberOfKeys: 1, lua: QUOTA_LUA });
    this.redis = redis as Redis & LimitCommands;
    this.prefix = config.redisPrefix;
  }

  /**
   * Claims the request's partnerMsgId (if it has one) and takes its rate token, in one round trip
   * shared by the partner's requests of this turn. `pending` / `done`: the id is in flight or
   * answered, no token taken. `limited`: no token (408), the id not claimed.
   */
  admit(partnerId: number, rate: number, partnerMsgId: string | null): Promise<Admission> {
    return this.admissions.submit({ partnerId, rate, partnerMsgId });
  }

  private async admitMany(requests: AdmitRequest[]): Promise<Admission[]> {
    const byPartner = new Map<number, { rate: number; at: number[] }>();
    requests.forEach((r, i) => {
      const group = byPartner.get(r.partnerId);
      if (group) group.at.push(i);
      else byPartner.set(r.partnerId, { rate: r.rate, at: [i] });
    });
    const out = new Array<Admission>(requests.length);
    await Promise.all(
      [...byPartner].map(async ([partnerId, group]) => {
        const keys = [`${this.prefix}:rate:${partnerId}`];
        const slots = group.at.map((i) => {
          const id = requests[i]!.partnerMsgId;
          if (id === null) return 0;
          keys.push(this.idempotencyKey(partnerId, id));
          return keys.length;
        });
        const verdicts = await this.redis.smsAdmit(keys.length, ...keys, group.rate, IDEMPOTENCY_PENDING_MS, ...slots);
        group.at.forEach((i, n) => (out[i] = admission(verdicts[n]!)));
      }),
    );
    return out;
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

/** A verdict of ADMIT_LUA, or the value of a claimed partnerMsgId's key. */
function admission(value: string): Admission {
  if (value === 'ok') return { state: 'new' };
  if (value === 'limited') return { state: 'limited' };
  if (value === 'pending') return { state: 'pending' };
  const [id, segments] = value.split(':');
  return { state: 'done', id: id as string, segments: Number(segments) };
}
