import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { Batcher } from '@smsgw/common';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { REDIS } from '../infra/tokens';
import { breakerOpened } from './callback-metrics';

export type CallbackKind = 'dlr' | 'mo';

/** A slot of a partner's concurrency, held while one request is in flight. */
export interface Lease {
  kind: CallbackKind;
  partnerId: number;
  token: string;
}

export type GateResult =
  | { granted: true; lease: Lease }
  /** open: breaker open; probe: half-open and its one probe is in flight; busy: partner at its concurrency. */
  | { granted: false; reason: 'open' | 'probe' | 'busy'; retryInMs: number };

// The clock is Redis's own (TIME), so instances with skewed clocks agree.
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Slots for several requests of one partner in one call. KEYS: leases (zset token → expiry ms),
 * breaker (hash). ARGV: limit, lease ms, failure threshold, request timeout ms (older leases
 * belong to a crashed instance: not a measure), then the tokens. The first `granted` tokens get
 * a slot. Returns {granted, x, 'ok'|'probe'|'busy'|'open'} where x tells the tokens left without
 * one: ms until the breaker closes ('open'), or until the probe in flight ends ('probe'), or the
 * expected request duration ('busy'): the partner's recent average, or the age of its oldest
 * request in flight if that is longer (a partner that just turned slow, or has no history yet),
 * but no more than four times the average (at least 20 ms) when there is one: the leases of an
 * instance killed mid-request look like requests in flight until they expire.
 * A half-open breaker grants one token, the probe.
 */
const ACQUIRE = `${NOW}
local n = #ARGV - 4
local b = redis.call('HMGET', KEYS[2], 'until', 'fails', 'probe', 'probeExp', 'lat')
local openUntil = tonumber(b[1] or '0') or 0
if openUntil > now then return {0, openUntil - now, 'open'} end
local probe = false
if (tonumber(b[2] or '0') or 0) >= tonumber(ARGV[3]) then
  local probeExp = tonumber(b[4] or '0') or 0
  if b[3] and probeExp > now then return {0, probeExp - now, 'probe'} end
  probe = true
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
if probe then free = math.min(free, 1) end
local granted = math.max(0, math.min(n, free))
if granted > 0 then
  local expiry = now + tonumber(ARGV[2])
  for i = 1, granted do redis.call('ZADD', KEYS[1], expiry, ARGV[4 + i]) end
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
  if probe then
    redis.call('HSET', KEYS[2], 'probe', ARGV[5], 'probeExp', expiry)
    return {granted, tonumber(ARGV[2]), 'probe'}
  end
end
if granted == n then return {granted, 0, 'ok'} end
local lat = tonumber(b[5] or '0') or 0
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[4]) + tonumber(ARGV[2]), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if oldest[2] then
  local age = now - (tonumber(oldest[2]) - tonumber(ARGV[2]))
  -- With a history, an old lease says at most that the partner is four times slower than usual:
  -- it may be a crashed instance's, which would otherwise make every job wait for its expiry.
  if lat > 0 then age = math.min(age, math.max(lat * 4, 20)) end
  lat = math.max(lat, age)
end
return {granted, math.max(1, math.floor(lat)), 'busy'}`;

/**
 * Ends several requests of one partner in one call, in the order they ended. KEYS: leases,
 * breaker. ARGV: threshold, first open ms, max open ms, then per request: token, ok (1/0),
 * duration ms. Each frees its slot and feeds the breaker as if released alone: a success closes
 * it; the threshold-th consecutive failure opens it, and a failed half-open probe opens it again
 * for twice as long, up to the max. Returns how many times it opened.
 */
const RELEASE = `${NOW}
local threshold = tonumber(ARGV[1])
local opened = 0
for i = 4, #ARGV, 3 do
  local token = ARGV[i]
  redis.call('ZREM', KEYS[1], token)
  local b = redis.call('HMGET', KEYS[2], 'fails', 'probe', 'openMs', 'lat')
  local wasProbe = b[2] == token
  local lat = tonumber(b[4] or '0') or 0
  local d = tonumber(ARGV[i + 2])
  if lat <= 0 then lat = d else lat = lat * 0.8 + d * 0.2 end
  redis.call('HSET', KEYS[2], 'lat', lat)
  if wasProbe then redis.call('HDEL', KEYS[2], 'probe', 'probeExp') end
  if ARGV[i + 1] == '1' then
    if (tonumber(b[1] or '0') or 0) > 0 then redis.call('HDEL', KEYS[2], 'fails', 'until', 'openMs') end
  else
    local fails = redis.call('HINCRBY', KEYS[2], 'fails', 1)
    if fails == threshold or (wasProbe and fails > threshold) then
      local openMs = tonumber(ARGV[2])
      if wasProbe then openMs = math.min(tonumber(ARGV[3]), (tonumber(b[3] or '0') or openMs) * 2) end
      redis.call('HSET', KEYS[2], 'until', now + openMs, 'openMs', openMs)
      opened = opened + 1
    end
  end
end
redis.call('PEXPIRE', KEYS[2], 86400000)
return opened`;

/**
 * KEYS: breaker. ARGV: limit, expected request duration (ms), min ms. A job that finds its
 * partner busy comes back when the partner should have capacity for it: each deferral books
 * 1/limit of the expected request duration on a per-partner virtual clock, so a backlog of a slow
 * partner is spread over the time it needs instead of coming back all at once.
 */
const DEFER = `${NOW}
local vt = tonumber(redis.call('HGET', KEYS[1], 'vt') or '0') or 0
if vt < now then vt = now end
vt = vt + tonumber(ARGV[2]) / tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'vt', vt)
redis.call('PEXPIRE', KEYS[1], 86400000)
return math.max(tonumber(ARGV[3]), math.floor(vt - now))`;

interface GateRedis extends Redis {
  cbAcquire(leases: string, breaker: string, limit: number, leaseMs: number, threshold: number, timeoutMs: number, ...tokens: string[]): Promise<[number, number, string]>;
  cbRelease(leases: string, breaker: string, threshold: number, openMs: number, maxOpenMs: number, ...releases: (string | number)[]): Promise<number>;
  cbDefer(breaker: string, limit: number, expectedMs: number, minMs: number): Promise<number>;
}

interface AcquireRequest {
  kind: CallbackKind;
  partnerId: number;
  limit: number;
  token: string;
}

/** A job waiting in this instance for a slot of its partner. */
interface Waiter {
  /** Set while it sleeps: ends the sleep early. */
  wake: (() => void) | null;
}

interface LocalQueue {
  /** In arrival order; a waiter keeps its place until it gets a slot or gives up. */
  waiters: Waiter[];
  /** Slots of this partner freed in this instance: a count decaying with RATE_TAU_MS, and when it was last updated. */
  releases: number;
  releasedAt: number;
  /** The partner's expected request duration, as Redis last said when it was busy. */
  lat: number;
}

/** Time constant of the local release rate (ms): long enough to smooth a slow partner's waves of answers. */
const RATE_TAU_MS = 2_000;
/** How often the first waiter asks Redis for a slot freed by another instance; the n-th one every n+1 times that. */
const POLL_MS = 50;
/** A job in line whose place still promises a slot waits up to this many times CALLBACK_PARTNER_MAX_WAIT_MS. */
const MAX_WAIT_FACTOR = 4;

/**
 * Per-partner concurrency and circuit breaker, shared by every instance through Redis.
 *
 * A job whose partner is at its limit may wait here for a slot, but only if one can be expected
 * within CALLBACK_PARTNER_MAX_WAIT_MS. How fast the partner's slots turn over is the larger of
 * limit / lat (lat: the partner's expected request duration, from Redis) and the rate at which
 * its slots were freed in this instance recently. The second keeps a fast partner fast when this
 * instance is short of CPU: its requests then look slow (their answers wait for the event loop),
 * yet its slots keep turning over, and sending its jobs back to the queue would only add work.
 * At most MAX_WAIT · turnover jobs wait (and at most CALLBACK_PARTNER_WAITERS); any other job of
 * that partner is put back as a delayed job. Waiters keep their place in line: a slot freed here
 * wakes the first one asleep, the first ones poll Redis for slots freed elsewhere, and one that
 * got such a slot wakes the next. So a fast partner can use every slot of the instance without churning jobs
 * through Redis, while a slow one holds its limit plus a few waiters, and every other partner
 * keeps the rest.
 */
@Injectable()
export class PartnerGate {
  private readonly redis: GateRedis;
  private readonly local = new Map<string, LocalQueue>();
  private readonly leaseMs: number;
  /** Lease tokens: this instance's random id and a counter (cheaper than random bytes per request). */
  private readonly instance = Math.random().toString(36).slice(2, 10);
  private leases = 0;

  /**
   * Concurrent requests for slots, and slots freed, go to Redis together: one script call per
   * partner for everything asked or freed in the same moment (a batch job's reports of one
   * partner cost one acquire and one release call, not one each).
   */
  private readonly acquires = new Batcher<AcquireRequest, [number, number, string]>((items) => this.acquireMany(items), { maxBatch: 1000, maxInFlight: 4, name: 'gate.acquire' });
  private readonly releases = new Batcher<{ lease: Lease; ok: boolean; durationMs: number }, void>((items) => this.releaseMany(items), { maxBatch: 1000, maxInFlight: 4, name: 'gate.release' });

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
  ) {
    this.redis = redis as GateRedis;
    if (!('cbAcquire' in redis)) {
      redis.defineCommand('cbAcquire', { numberOfKeys: 2, lua: ACQUIRE });
      redis.defineCommand('cbRelease', { numberOfKeys: 2, lua: RELEASE });
      redis.defineCommand('cbDefer', { numberOfKeys: 1, lua: DEFER });
    }
    // A crashed instance's slot frees itself once the longest request it could have made is over.
    this.leaseMs = config.CALLBACK_TIMEOUT_MS + 5_000;
  }

  /** A slot of the partner's `limit` (requests in flight across all instances), or why not. */
  async acquire(kind: CallbackKind, partnerId: number, limit: number): Promise<GateResult> {
    const c = this.config;
    const key = `${kind}:${partnerId}`;
    const token = `${this.instance}.${(++this.leases).toString(36)}`;
    const started = Date.now();
    const q = this.queue(key);
    let me: Waiter | undefined;
    let polled = false;
    try {
      for (;;) {
        const [granted, retryInMs, reason] = await this.acquires.submit({ kind, partnerId, limit, token });
        if (granted === 1) {
          // A slot found by polling was freed by another instance, which may have freed more.
          if (me && polled) this.wakeNext(q, me);
          return { granted: true, lease: { kind, partnerId, token } };
        }
        if (reason === 'open') return { granted: false, reason, retryInMs: retryInMs + jitter(Math.min(retryInMs, 10_000)) };
        if (reason === 'probe') return { granted: false, reason, retryInMs: Math.min(retryInMs, 2_000) + jitter(1_000) };
        const lat = retryInMs; // expected request duration
        q.lat = lat;
        const waited = Date.now() - started;
        // A newcomer joins the line if it can expect a slot within MAX_WAIT. One in line whose
        // time is up stays while its place still promises a slot (the line moves, only slower than
        // expected: sending it back would just put another job in its place), up to 4 · MAX_WAIT.
        const allowed = this.waitersAllowed(q, limit, lat);
        if (!me) {
          if (q.waiters.length >= allowed) return this.defer(kind, partnerId, limit, lat);
          me = { wake: null };
          q.waiters.push(me);
        } else if (waited >= c.CALLBACK_PARTNER_MAX_WAIT_MS && (waited >= c.CALLBACK_PARTNER_MAX_WAIT_MS * MAX_WAIT_FACTOR || q.waiters.indexOf(me) >= allowed)) {
          return this.defer(kind, partnerId, limit, lat);
        }
        // The first in line polls for slots freed by other instances, the next ones less often.
        const at = q.waiters.indexOf(me);
        const deadline = waited < c.CALLBACK_PARTNER_MAX_WAIT_MS ? c.CALLBACK_PARTNER_MAX_WAIT_MS : c.CALLBACK_PARTNER_MAX_WAIT_MS * MAX_WAIT_FACTOR;
        polled = await this.sleep(me, Math.min(POLL_MS * (1 + at), deadline - waited));
      }
    } finally {
      if (me) {
        const i = q.waiters.indexOf(me);
        if (i >= 0) q.waiters.splice(i, 1);
      }
    }
  }

  private async defer(kind: CallbackKind, partnerId: number, limit: number, lat: number): Promise<GateResult> {
    const delay = await this.redis.cbDefer(this.key(kind, partnerId, 'breaker'), limit, lat, 50);
    return { granted: false, reason: 'busy', retryInMs: delay + jitter(Math.min(delay, 1_000) / 4) };
  }

  /**
   * Before any work is done for a job (reading its message): if as many of its partner's jobs
   * wait here as may wait, it would only be put back after that work, so it goes back now. The
   * ms until it is due again, or null to go on (and `acquire` later).
   */
  async deferEarly(kind: CallbackKind, partnerId: number, limit: number): Promise<number | null> {
    const q = this.local.get(`${kind}:${partnerId}`);
    if (!q || q.lat <= 0 || q.waiters.length === 0 || q.waiters.length < this.waitersAllowed(q, limit, q.lat)) return null;
    const delay = await this.redis.cbDefer(this.key(kind, partnerId, 'breaker'), limit, q.lat, 50);
    return delay + jitter(Math.min(delay, 1_000) / 4);
  }

  /** Frees the slot and feeds the breaker with the outcome. */
  async release(lease: Lease, ok: boolean, durationMs: number): Promise<void> {
    try {
      await this.releases.submit({ lease, ok, durationMs });
    } finally {
      this.freed(`${lease.kind}:${lease.partnerId}`);
    }
  }

  /** One script call per partner (and limit) for the slots asked for at once; each asker gets its own answer. */
  private async acquireMany(items: AcquireRequest[]): Promise<[number, number, string][]> {
    const c = this.config;
    const results: [number, number, string][] = new Array(items.length);
    await Promise.all(
      groupBy(items, (r) => `${r.kind}:${r.partnerId}:${r.limit}`).map(async (group) => {
        const { kind, partnerId, limit } = items[group[0]!]!;
        const tokens = group.map((i) => items[i]!.token);
        const [granted, x, reason] = await this.redis.cbAcquire(
          this.key(kind, partnerId, 'leases'),
          this.key(kind, partnerId, 'breaker'),
          limit,
          this.leaseMs,
          c.CALLBACK_BREAKER_FAILURES,
          c.CALLBACK_TIMEOUT_MS,
          ...tokens,
        );
        group.forEach((i, n) => (results[i] = n < granted ? [1, 0, reason] : [0, x, reason]));
      }),
    );
    return results;
  }

  /** One script call per partner for the slots freed at once, in the order they were freed. */
  private async releaseMany(items: { lease: Lease; ok: boolean; durationMs: number }[]): Promise<void[]> {
    const c = this.config;
    await Promise.all(
      groupBy(items, (r) => `${r.lease.kind}:${r.lease.partnerId}`).map(async (group) => {
        const { kind, partnerId } = items[group[0]!]!.lease;
        const args = group.flatMap((i) => {
          const r = items[i]!;
          return [r.lease.token, r.ok ? 1 : 0, Math.max(1, Math.round(r.durationMs))];
        });
        const opened = await this.redis.cbRelease(
          this.key(kind, partnerId, 'leases'),
          this.key(kind, partnerId, 'breaker'),
          c.CALLBACK_BREAKER_FAILURES,
          c.CALLBACK_BREAKER_OPEN_MS,
          c.CALLBACK_BREAKER_MAX_OPEN_MS,
          ...args,
        );
        if (opened > 0) breakerOpened.inc({ kind }, opened);
      }),
    );
    return items.map(() => undefined);
  }

  /** A slot of the partner was freed here: count it, and wake the first waiter that sleeps. */
  private freed(key: string): void {
    const q = this.queue(key);
    const now = Date.now();
    q.releases = q.releases * Math.exp(-(now - q.releasedAt) / RATE_TAU_MS) + 1;
    q.releasedAt = now;
    this.wakeNext(q, undefined);
  }

  /** Wakes the first sleeping waiter (after `after`, if given). */
  private wakeNext(q: LocalQueue, after: Waiter | undefined): void {
    const from = after ? q.waiters.indexOf(after) + 1 : 0;
    for (let i = from; i < q.waiters.length; i++) {
      const wake = q.waiters[i]!.wake;
      if (wake) return wake();
    }
  }

  /**
   * How many jobs of this partner may wait here: as many as can expect a slot within
   * CALLBACK_PARTNER_MAX_WAIT_MS, at the faster of limit / lat and the recent local release rate.
   */
  private waitersAllowed(q: LocalQueue, limit: number, lat: number): number {
    const c = this.config;
    const releaseRate = (q.releases * Math.exp(-(Date.now() - q.releasedAt) / RATE_TAU_MS)) / RATE_TAU_MS; // per ms
    const turnover = Math.max(limit / lat, releaseRate);
    return Math.min(c.CALLBACK_PARTNER_WAITERS ?? c.CALLBACK_CONCURRENCY, Math.floor(c.CALLBACK_PARTNER_MAX_WAIT_MS * turnover));
  }

  /** Sleeps until woken or `ms` passed; true if the time ran out (a poll), false if woken. */
  private sleep(me: Waiter, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        me.wake = null;
        resolve(true);
      }, Math.max(1, ms));
      me.wake = () => {
        clearTimeout(timer);
        me.wake = null;
        resolve(false);
      };
    });
  }

  private queue(key: string): LocalQueue {
    let q = this.local.get(key);
    if (!q) {
      q = { waiters: [], releases: 0, releasedAt: 0, lat: 0 };
      this.local.set(key, q);
    }
    return q;
  }

  /**
   * The partner is reachable again (it bound over SMPP): its breaker closes and its run of failures
   * is forgotten, so the reports made due at once are not held back until a probe. Its recent
   * request duration is kept.
   */
  async reset(kind: CallbackKind, partnerId: number): Promise<void> {
    await this.redis.hdel(this.key(kind, partnerId, 'breaker'), 'until', 'fails', 'probe', 'probeExp');
  }

  /**
   * A report of a partner whose reports go over SMPP that the breaker held back (no attempt made,
   * so no `callback` row to find it by): kept in a set until the partner's next bind takes them
   * (`takeHeld`), for as long as a report is retried.
   */
  async hold(partnerId: number, messageId: string, status: number): Promise<void> {
    const key = this.key('dlr', partnerId, 'held');
    await this.redis.multi().sadd(key, `${messageId}:${status}`).pexpire(key, this.config.CALLBACK_RETRY_HORIZON_MS).exec();
  }

  /** The reports `hold` noted for the partner, forgotten as they are returned. */
  async takeHeld(partnerId: number): Promise<{ messageId: string; status: number }[]> {
    const key = this.key('dlr', partnerId, 'held');
    const [[, members]] = (await this.redis.multi().smembers(key).del(key).exec()) as [[Error | null, string[]], unknown];
    return (members ?? []).map((m) => {
      const [messageId, status] = m.split(':');
      return { messageId: messageId!, status: Number(status) };
    });
  }

  private key(kind: CallbackKind, partnerId: number, what: string): string {
    return `${this.config.REDIS_PREFIX}:cb:${kind}:${partnerId}:${what}`;
  }
}

/** Indexes of `items` grouped by key, in order. */
function groupBy<T>(items: T[], key: (item: T) => string): number[][] {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  return [...groups.values()];
}

function jitter(maxMs: number): number {
  return Math.floor(Math.random() * Math.max(0, maxMs));
}
