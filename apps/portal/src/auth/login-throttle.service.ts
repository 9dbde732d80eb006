import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { FailureThrottle } from '@smsgw/common';
import { PORTAL_CONFIG, type PortalConfig } from '../config';
import { REDIS } from '../infra/tokens';

/**
 * Failed portal logins, per login (case-insensitive) and per client address: PORTAL_LOGIN_MAX_FAILURES
 * and PORTAL_IP_MAX_FAILURES within PORTAL_LOCKOUT_MINUTES lock further attempts (see FailureThrottle).
 */
@Injectable()
export class LoginThrottle extends FailureThrottle {
  constructor(@Inject(REDIS) redis: Redis, @Inject(PORTAL_CONFIG) config: PortalConfig) {
    super(redis, {
      keyPrefix: `${config.REDIS_PREFIX}:portal:login-fail`,
      maxPerLogin: config.PORTAL_LOGIN_MAX_FAILURES,
      maxPerAddress: config.PORTAL_IP_MAX_FAILURES,
      windowSeconds: config.PORTAL_LOCKOUT_MINUTES * 60,
      caseInsensitive: true,
    });
  }
}
