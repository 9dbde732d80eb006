import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

export interface FailureThrottleOptions {
  /** Key prefix, e.g. `<REDIS_PREFIX>:portal:login-fail`. */
  keyPrefix: string;
  /** Failures of one login within the window that lock it. */
  maxPerLogin: number;
  /** Failures from one address within the window that lock it. */
  maxPerAddress: number;
  windowSeconds: number;
  /** Logins that differ only in case are one (the portal's), or not (SMPP system_id). */
  caseInsensitive: boolean;
}

/**
 * Failed sign-ins (portal logins, SMPP binds) counted per login and per client address in Redis,
 * shared by every instance, each counter living for the window from its first failure. At the
 * limit further attempts are refused, right password or not, until the window ends; a success
 * clears the login's counter. Per login stops guessing one account from many addresses, per address
 * stops trying many accounts from one.
 */
export class FailureThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly options: FailureThrottleOptions,
  ) {}

  private keys(login: string, ip: string): { login: string; ip: string } {
    const p = this.options.keyPrefix;
    const name = this.options.caseInsensitive ? login.toLowerCase() : login;
    return { login: `${p}:login:${createHash('sha256').update(name).digest('hex')}`, ip: `${p}:ip:${ip}` };
  }

  /** Seconds until attempts are allowed again, or 0 if they are allowed now. */
  async retryAfter(login: string, ip: string): Promise<number> {
    const k = this.keys(login, ip);
    const [[, byLogin], [, byIp], [, ttlLogin], [, ttlIp]] = (await this.redis.multi().get(k.login).get(k.ip).ttl(k.login).ttl(k.ip).exec()) as [unknown, string | null][] & [unknown, number][];
    const lockedLogin = Number(byLogin ?? 0) >= this.options.maxPerLogin;
    const lockedIp = Number(byIp ?? 0) >= this.options.maxPerAddress;
    if (!lockedLogin && !lockedIp) return 0;
    return Math.max(1, lockedLogin ? Number(ttlLogin) : 0, lockedIp ? Number(ttlIp) : 0);
  }

  async failed(login: string, ip: string): Promise<void> {
    const k = this.keys(login, ip);
    const window = this.options.windowSeconds;
    await this.redis.multi().incr(k.login).expire(k.login, window, 'NX').incr(k.ip).expire(k.ip, window, 'NX').exec();
  }

  async succeeded(login: string): Promise<void> {
    await this.redis.del(this.keys(login, '').login);
  }
}
