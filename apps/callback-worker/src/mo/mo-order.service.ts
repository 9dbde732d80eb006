import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { REDIS } from '../infra/tokens';

/**
 * KEYS: lock, down, knock. ARGV: token, lease ms. {1} or {0, ms to wait, 'down'|'locked'}. A job
 * that finds the lock held knocks: the holder looks for waiting MO once more before it lets go.
 */
const TAKE = `
local down = redis.call('PTTL', KEYS[2])
if down > 0 then return {0, down, 'down'} end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[3])
  return {1, 0, 'ok'}
end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
return {0, math.max(redis.call('PTTL', KEYS[1]), 0), 'locked'}`;
/** KEYS: lock, knock. ARGV: token. 1 released; 2 kept, because someone knocked (cleared); 0 not ours. */
const LEAVE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('DEL', KEYS[2]) == 1 then return 2 end
redis.call('DEL', KEYS[1])
return 1`;
/** KEYS: lock. ARGV: token, lease ms (0 = release). Only the holder may extend or release. */
const HOLD = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

interface OrderRedis extends Redis {
  cbMoTake(lock: string, down: string, knock: string, token: string, leaseMs: number): Promise<[number, number, string]>;
  cbMoHold(lock: string, token: string, leaseMs: number): Promise<number>;
  cbMoLeave(lock: string, knock: string, token: string): Promise<number>;
}

/**
 * A partner's MO are pushed by one pump at a time across every instance: the holder of the
 * partner's lock (`<prefix>:cb:mo:<partnerId>:lock`), in either order (PROTOCOL §6: strictly in
 * arrival order, or each subscriber's in order). A job that finds the lock held knocks, so the
 * holder looks for waiting MO once more before it lets go; after a failed push the partner's MO
 * URL counts as down (no MO of that partner is tried) until the failed MO's next attempt.
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
      redis.defineCommand('cbMoTake', { numberOfKeys: 3, lua: TAKE });
      redis.defineCommand('cbMoHold', { numberOfKeys: 1, lua: HOLD });
      redis.defineCommand('cbMoLeave', { numberOfKeys: 2, lua: LEAVE });
    }
    this.leaseMs = config.CALLBACK_TIMEOUT_MS + 5_000;
  }

  async take(partnerId: number, token: string): Promise<{ taken: true } | { taken: false; reason: 'down' | 'locked'; retryInMs: number }> {
    const [ok, ms, reason] = await this.redis.cbMoTake(this.key(partnerId, 'lock'), this.key(partnerId, 'down'), this.key(partnerId, 'knock'), token, this.leaseMs);
    if (ok === 1) return { taken: true };
    return { taken: false, reason: reason === 'down' ? 'down' : 'locked', retryInMs: ms };
  }

  /** Extends the lock (the pump does so at least every second); false if it was lost (expired and taken over). */
  async extend(partnerId: number, token: string): Promise<boolean> {
    return (await this.redis.cbMoHold(this.key(partnerId, 'lock'), token, this.leaseMs)) === 1;
  }

  /**
   * Lets go of the lock once nothing waits. False when another job knocked since the holder last
   * looked: the lock is kept and the holder must look for waiting MO again (their rows were
   * committed before their jobs knocked, so the next look finds them). This closes the gap
   * between "nothing waits" and the release, in which a new MO's job would otherwise find the
   * lock held, step back, and leave its MO to wait.
   */
  async leave(partnerId: number, token: string): Promise<boolean> {
    return (await this.redis.cbMoLeave(this.key(partnerId, 'lock'), this.key(partnerId, 'knock'), token)) !== 2;
  }

  /** Whether a job of another instance knocked since the last look (and clears the knock). */
  async knocked(partnerId: number): Promise<boolean> {
    return (await this.redis.del(this.key(partnerId, 'knock'))) === 1;
  }

  async release(partnerId: number, token: string): Promise<void> {
    await this.redis.cbMoHold(this.key(partnerId, 'lock'), token, 0);
  }

  async markDown(partnerId: number, ms: number): Promise<void> {
    await this.redis.set(this.key(partnerId, 'down'), '1', 'PX', Math.max(1, Math.round(ms)));
  }

  /** The partner's MO go again at once (it bound over SMPP). */
  async clearDown(partnerId: number): Promise<void> {
    await this.redis.del(this.key(partnerId, 'down'));
  }

  private key(partnerId: number, what: 'lock' | 'knock' | 'down'): string {
    return `${this.config.REDIS_PREFIX}:cb:mo:${partnerId}:${what}`;
  }
}
