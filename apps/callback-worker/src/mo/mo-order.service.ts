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
 * The line an MO waits in: all of its partner's MO (mo_order = partner), or its subscriber's only
 * (mo_order = subscriber). A line pushes one MO at a time, in arrival order.
 */
export interface MoLine {
  partnerId: number;
  msisdn: string | null;
}

/**
 * MO for one line go out one at a time, in arrival order, across every instance: a line's MO are
 * pushed only by the holder of its lock, who goes on to the next waiting MO as soon as one is
 * answered, and after a failure the partner's MO URL counts as down (no MO of that partner is
 * tried, in any line) until the failed MO's next attempt.
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

  async take(line: MoLine, token: string): Promise<{ taken: true } | { taken: false; reason: 'down' | 'locked'; retryInMs: number }> {
    const [ok, ms, reason] = await this.redis.cbMoTake(this.key(line, 'lock'), this.downKey(line.partnerId), this.key(line, 'knock'), token, this.leaseMs);
    if (ok === 1) return { taken: true };
    return { taken: false, reason: reason === 'down' ? 'down' : 'locked', retryInMs: ms };
  }

  /** Extends the lock before each push; false if it was lost (expired and taken over). */
  async extend(line: MoLine, token: string): Promise<boolean> {
    return (await this.redis.cbMoHold(this.key(line, 'lock'), token, this.leaseMs)) === 1;
  }

  /**
   * Lets go of the lock once nothing waits. False when another job knocked since the holder last
   * looked: the lock is kept and the holder must look for waiting MO again (their rows were
   * committed before their jobs ran, so the next look finds them). This closes the gap between
   * "nothing waits" and the release, in which a new MO's job would otherwise find the lock held,
   * step back, and leave its MO to wait.
   */
  async leave(line: MoLine, token: string): Promise<boolean> {
    return (await this.redis.cbMoLeave(this.key(line, 'lock'), this.key(line, 'knock'), token)) !== 2;
  }

  async release(line: MoLine, token: string): Promise<void> {
    await this.redis.cbMoHold(this.key(line, 'lock'), token, 0);
  }

  async markDown(partnerId: number, ms: number): Promise<void> {
    await this.redis.set(this.downKey(partnerId), '1', 'PX', Math.max(1, Math.round(ms)));
  }

  private key(line: MoLine, what: string): string {
    const base = `${this.config.REDIS_PREFIX}:cb:mo:${line.partnerId}`;
    return line.msisdn === null ? `${base}:${what}` : `${base}:s:${line.msisdn}:${what}`;
  }

  private downKey(partnerId: number): string {
    return `${this.config.REDIS_PREFIX}:cb:mo:${partnerId}:down`;
  }
}
