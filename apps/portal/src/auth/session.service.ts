import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { PORTAL_CONFIG, type PortalConfig } from '../config';
import { REDIS } from '../infra/tokens';
import type { Session } from './session';

/**
 * Sessions live in Redis, so any number of portal instances share them. The cookie holds a
 * random id; Redis holds it hashed, so a read of Redis does not hand out usable cookies. Each
 * request renews the idle timeout.
 */
@Injectable()
export class SessionService {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(PORTAL_CONFIG) private readonly config: PortalConfig,
  ) {}

  private key(id: string): string {
    return `${this.config.REDIS_PREFIX}:portal:session:${createHash('sha256').update(id).digest('hex')}`;
  }

  private userKey(userId: number): string {
    return `${this.config.REDIS_PREFIX}:portal:user-sessions:${userId}`;
  }

  private get ttl(): number {
    return this.config.PORTAL_SESSION_IDLE_MINUTES * 60;
  }

  async create(user: Omit<Session, 'csrf' | 'createdAt'>): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const session: Session = { ...user, csrf: randomBytes(24).toString('base64url'), createdAt: new Date().toISOString() };
    await this.redis
      .multi()
      .set(this.key(id), JSON.stringify(session), 'EX', this.ttl)
      .sadd(this.userKey(user.userId), this.key(id))
      .expire(this.userKey(user.userId), this.ttl)
      .exec();
    return { id, session };
  }

  /** The session of a cookie value, renewing its idle timeout; null when unknown or expired. */
  async get(id: string): Promise<Session | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const key = this.key(id);
    const raw = await this.redis.getex(key, 'EX', this.ttl);
    if (!raw) return null;
    return JSON.parse(raw) as Session;
  }

  async destroy(id: string): Promise<void> {
    const session = await this.get(id);
    await this.redis.del(this.key(id));
    if (session) await this.redis.srem(this.userKey(session.userId), this.key(id));
  }

  /** Ends every session of a user (password changed, user deleted), except `keepId`'s. */
  async destroyAllOf(userId: number, keepId?: string): Promise<void> {
    const keys = await this.redis.smembers(this.userKey(userId));
    const keep = keepId ? this.key(keepId) : null;
    const gone = keys.filter((k) => k !== keep);
    if (gone.length > 0) await this.redis.multi().del(...gone).srem(this.userKey(userId), ...gone).exec();
  }
}
