import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { PORTAL_CONFIG, type PortalConfig } from '../config';
import { PG_POOL, REDIS } from '../infra/tokens';
import type { Role, Session } from './session';

interface UserState {
  login: string;
  role: Role;
  partner_id: number | null;
  session_version: number;
  blocked: boolean;
}

/**
 * Sessions live in Redis, so any number of portal instances share them. The cookie holds a
 * random id; Redis holds it hashed, so a read of Redis does not hand out usable cookies. Each
 * request renews the idle timeout, never past the absolute lifetime.
 *
 * Revocation does not rely on Redis: every request re-reads the user's row, and a session ends
 * when the user is gone or blocked or its session_version has moved on (password, role or
 * partner changed). The per-user index in Redis only tidies the ended sessions away at once.
 */
@Injectable()
export class SessionService {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(PORTAL_CONFIG) private readonly config: PortalConfig,
  ) {}

  private key(id: string): string {
    return `${this.config.REDIS_PREFIX}:portal:session:${createHash('sha256').update(id).digest('hex')}`;
  }

  private userKey(userId: number): string {
    return `${this.config.REDIS_PREFIX}:portal:user-sessions:${userId}`;
  }

  private get maxSeconds(): number {
    return this.config.PORTAL_SESSION_MAX_HOURS * 3600;
  }

  /** Seconds the session may still live: the idle timeout, cut by the absolute lifetime. */
  private ttl(session: Session, now = Date.now()): number {
    const left = Math.floor((Date.parse(session.createdAt) + this.maxSeconds * 1000 - now) / 1000);
    return Math.min(this.config.PORTAL_SESSION_IDLE_MINUTES * 60, left);
  }

  async create(user: Omit<Session, 'csrf' | 'createdAt'>): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const session: Session = { ...user, csrf: randomBytes(24).toString('base64url'), createdAt: new Date().toISOString() };
    await this.redis
      .multi()
      .set(this.key(id), JSON.stringify(session), 'EX', this.ttl(session))
      .sadd(this.userKey(user.userId), this.key(id))
      // No session outlives the absolute lifetime, so neither need the index (renewed by each login).
      .expire(this.userKey(user.userId), this.maxSeconds)
      .exec();
    return { id, session };
  }

  /**
   * The session of a cookie value with the user's current login, role and partner; null when
   * unknown, expired, past its absolute lifetime, or ended by a change to its user (then it is
   * deleted). Renews the idle timeout.
   */
  async authenticate(id: string | undefined): Promise<Session | null> {
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const key = this.key(id);
    const raw = await this.redis.get(key);
    if (!raw) return null;
    const session = JSON.parse(raw) as Session;
    const ttl = this.ttl(session);
    const user = ttl > 0 ? await this.userState(session.userId) : null;
    if (!user || user.blocked || user.session_version !== (session.version ?? 0)) {
      await this.destroyKey(key, session.userId);
      return null;
    }
    await this.redis.expire(key, ttl);
    return { ...session, login: user.login, role: user.role, partnerId: user.partner_id };
  }

  /** Keeps a session valid across a change of its own user's session_version (own password change). */
  async adopt(id: string, version: number): Promise<void> {
    const key = this.key(id);
    const raw = await this.redis.get(key);
    if (!raw) return;
    const session = { ...(JSON.parse(raw) as Session), version };
    await this.redis.set(key, JSON.stringify(session), 'KEEPTTL');
  }

  async destroy(id: string): Promise<void> {
    const key = this.key(id);
    const raw = await this.redis.get(key);
    await this.destroyKey(key, raw ? (JSON.parse(raw) as Session).userId : null);
  }

  /** Ends every session of a user (its row's session_version has already moved on), except `keepId`'s. */
  async destroyAllOf(userId: number, keepId?: string): Promise<void> {
    const keys = await this.redis.smembers(this.userKey(userId));
    const keep = keepId ? this.key(keepId) : null;
    const gone = keys.filter((k) => k !== keep);
    if (gone.length > 0) await this.redis.multi().del(...gone).srem(this.userKey(userId), ...gone).exec();
  }

  private async destroyKey(key: string, userId: number | null): Promise<void> {
    const m = this.redis.multi().del(key);
    if (userId !== null) m.srem(this.userKey(userId), key);
    await m.exec();
  }

  private async userState(userId: number): Promise<UserState | null> {
    const r = await this.pool.query<UserState>(
      'SELECT login, role::text AS role, partner_id, session_version, blocked_at IS NOT NULL AS blocked FROM app_user WHERE id = $1',
      [userId],
    );
    return r.rows[0] ?? null;
  }
}
