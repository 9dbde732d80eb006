import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { PORTAL_CONFIG, type PortalConfig } from '../config';
import { REDIS } from '../infra/tokens';

/**
 * Failed logins are counted per login and per client address in Redis (shared by every portal
 * instance), each counter living for the lockout window from the first failure. At the limit
 * further attempts are refused, correct password or not, until the window ends; a successful
 * login clears the login's counter. Per-login stops guessing one account from many addresses,
 * per-address stops trying many accounts from one.
 */
@Injectable()
export class LoginThrottle {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(PORTAL_CONFIG) private readonly config: PortalConfig,
  ) {}

  private keys(login: string, ip: string): { login: string; ip: string } {
    const p = `${this.config.REDIS_PREFIX}:portal:login-fail`;
    return { login: `${p}:login:${createHash('sha256').update(login.toLowerCase()).digest('hex')}`, ip: `${p}:ip:${ip}` };
  }

  /** Seconds until attempts are allowed again, or 0 if they are allowed now. */
  async retryAfter(login: string, ip: string): Promise<number> {
    const k = this.keys(login, ip);
    const [[, byLogin], [, byIp], [, ttlLogin], [, ttlIp]] = (await this.redis.multi().get(k.login).get(k.ip).ttl(k.login).ttl(k.ip).exec()) as [unknown, string | null][] & [unknown, number][];
    const lockedLogin = Number(byLogin ?? 0) >= this.config.PORTAL_LOGIN_MAX_FAILURES;
    const lockedIp = Number(byIp ?? 0) >= this.config.PORTAL_IP_MAX_FAILURES;
    if (!lockedLogin && !lockedIp) return 0;
    return Math.max(1, lockedLogin ? Number(ttlLogin) : 0, lockedIp ? Number(ttlIp) : 0);
  }

  async failed(login: string, ip: string): Promise<void> {
    const k = this.keys(login, ip);
    const window = this.config.PORTAL_LOCKOUT_MINUTES * 60;
    await this.redis.multi().incr(k.login).expire(k.login, window, 'NX').incr(k.ip).expire(k.ip, window, 'NX').exec();
  }

  async succeeded(login: string): Promise<void> {
    await this.redis.del(this.keys(login, '').login);
  }
}
