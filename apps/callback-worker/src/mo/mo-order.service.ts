import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { REDIS } from '../infra/tokens';

/** KEYS: lock, down. ARGV: token, lease ms. {1} or {0, ms to wait, 'down'|'locked'}. */
const TAKE = `
local down = redis.call('PTTL', KEYS[2])
if down > 0 then return {0, down, 'down'} end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, 0, 'ok'} end
return {0, math.max(redis.call('PTTL', KEYS[1]), 0), 'locked'}`;
/** KEYS: lock. ARGV: token, lease ms (0 = release). Only the holder may extend or release. */
const HOLD = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

interface OrderRedis extends Redis {
  cbMoTake(lock: string, down: string, token: string, leaseMs: number): Promise<[number, number, string]>;
  cbMoHold(lock: string, token: string, leaseMs: number): Promise<number>;
}

/**
 * MO for one partner go out one at a time, in arrival order, across every instance: a partner's
 * MO are pushed only by the holder of its lock, and after a failure the partner's MO URL counts
 * as down (no MO of that partner is tried) until the failed MO's next attempt.
 */
@Injectable()
export class MoOrder {
  private readonly redis: OrderRedis;
  readonly leaseMs: number;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
  ) {
    this.redis = redis as OrderRedis;
    if (!('cbMoTake' in redis)) {
      redis.defineCommand('cbMoTake', { numberOfKeys: 2, lua: TAKE });
      redis.defineCommand('cbMoHold', { numberOfKeys: 1, lua: HOLD });
    }
    this.leaseMs = config.CALLBACK_TIMEOUT_MS + 5_000;
  }

  async take(partnerId: number, token: string): Promise<{ taken: true } | { taken: false; reason: 'down' | 'locked'; retryInMs: number }> {
    const [ok, ms, reason] = await this.redis.cbMoTake(this.key(partnerId, 'lock'), this.key(partnerId, 'down'), token, this.leaseMs);
    if (ok === 1) return { taken: true };
    return { taken: false, reason: reason === 'down' ? 'down' : 'locked', retryInMs: ms };
  }

  /** Extends the lock before each push; false if it was lost (expired and taken over). */
  async extend(partnerId: number, token: string): Promise<boolean> {
    return (await this.redis.cbMoHold(this.key(partnerId, 'lock'), token, this.leaseMs)) === 1;
  }

  async release(partnerId: number, token: string): Promise<void> {
    await this.redis.cbMoHold(this.key(partnerId, 'lock'), token, 0);
  }

  async markDown(partnerId: number, ms: number): Promise<void> {
    await this.redis.set(this.key(partnerId, 'down'), '1', 'PX', Math.max(1, Math.round(ms)));
  }

  private key(partnerId: number, what: string): string {
    return `${this.config.REDIS_PREFIX}:cb:mo:${partnerId}:${what}`;
  }
}
