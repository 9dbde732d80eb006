import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { FailureThrottle } from '@smsgw/common';
import { verifyApiPassword } from '@smsgw/db';
import { PG_POOL, REDIS } from '@smsgw/intake';
import { IpAllowList, SmppStatus, type Address } from '@smsgw/sms';
import { SMPP_SERVER_CONFIG, type SmppServerConfig } from './config';

export type BindMode = 'transmitter' | 'receiver' | 'transceiver';

export interface BoundPartner {
  id: number;
  login: string;
  /** The SMPP password hash the bind was checked against: a session ends when it changes. */
  passwordHash: string;
}

/** A bind's outcome: the partner, or the status to answer and the reason to log (never sent). */
export type BindDecision = { ok: true; partner: BoundPartner; release: () => void } | { ok: false; status: number; reason: string };

interface PartnerBindRow {
  id: number;
  login: string;
  status: 'active' | 'blocked';
  allowed_ips: string[];
  smpp_password_hash: string | null;
  smpp_max_binds: number | null;
}

/** A bind's lease in Redis lasts this long unless its instance refreshes it (every third of it). */
const BIND_LEASE_MS = 15_000;

/**
 * KEYS: the partner's binds (sorted set: member = instance and session, score = lease end, ms on
 * Redis's clock). ARGV: limit, member, lease ms. Drops expired leases (a crashed instance's), then
 * adds the member if fewer than `limit` remain. Returns -1 when added, else the binds counted.
 */
const TAKE_BIND = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[1]) then return n end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return -1`;

/** KEYS: the binds of several partners. ARGV: lease ms, then the members, one per key. Pushes their leases forward. */
const REFRESH_BINDS = `
local t = redis.call('TIME')
local until_ = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', until_, ARGV[i + 1])
  redis.call('PEXPIRE', key, ARGV[1])
end
return 0`;

interface BindRedis extends Redis {
  smppTakeBind(key: string, limit: number, member: string, leaseMs: number): Promise<number>;
  smppRefreshBinds(...args: (string | number)[]): Promise<number>;
}

/**
 * Decides binds: the partner whose login is the bind's system_id, checked in the order the HTTP
 * API checks a request: its address on the allow-list first (so that a partner's password cannot be
 * tried from an address it does not use), then the SMPP password, its status, and its limit of
 * simultaneous binds. Every refusal is ESME_RBINDFAIL, whatever the reason, so that a bind tells a
 * stranger nothing about which logins exist; the reason goes to the log.
 *
 * A bind reads the partner's row from PostgreSQL: binds are rare, and a changed password or
 * allow-list holds from the next bind on without a cache to invalidate.
 *
 * Failed binds are counted per system_id and per address (`FailureThrottle`, in Redis): past
 * SMPP_BIND_MAX_FAILURES for a login or SMPP_BIND_IP_MAX_FAILURES for an address within
 * SMPP_BIND_LOCKOUT_MINUTES, every bind of that login or from that address is refused, right
 * password or not, until the window ends. An 8-character password cannot be guessed online.
 *
 * The limit of simultaneous binds holds across instances: each bind is a lease in Redis
 * (`<prefix>:smpp:binds:<partnerId>`), refreshed every 5 s by its instance while the session lasts
 * and removed when it ends; a crashed instance's leases run out after 15 s.
 */
@Injectable()
export class PartnerBinds implements OnApplicationShutdown {
  private readonly log = new Logger(PartnerBinds.name);
  private readonly throttle: FailureThrottle;
  private readonly redis: BindRedis;
  /** This instance's leases: member → partner id. */
  private readonly leases = new Map<string, number>();
  private readonly instance = randomBytes(6).toString('hex');
  private nextLease = 1;
  private readonly refresher: NodeJS.Timeout;

  constructor(
    @Inject(SMPP_SERVER_CONFIG) private readonly config: SmppServerConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) redis: Redis,
  ) {
    this.redis = redis as BindRedis;
    if (!('smppTakeBind' in redis)) {
      redis.defineCommand('smppTakeBind', { numberOfKeys: 1, lua: TAKE_BIND });
      redis.defineCommand('smppRefreshBinds', { lua: REFRESH_BINDS });
    }
    this.refresher = setInterval(() => void this.refresh(), Math.floor(BIND_LEASE_MS / 3));
    this.refresher.unref();
    this.throttle = new FailureThrottle(redis, {
      keyPrefix: `${config.REDIS_PREFIX}:smpp:bind-fail`,
      maxPerLogin: config.SMPP_BIND_MAX_FAILURES,
      maxPerAddress: config.SMPP_BIND_IP_MAX_FAILURES,
      windowSeconds: config.SMPP_BIND_LOCKOUT_MINUTES * 60,
      caseInsensitive: false,
    });
  }

  async decide(systemId: string, password: string, address: Address | null): Promise<BindDecision> {
    const ip = address?.toString() ?? 'unknown';
    const locked = await this.throttle.retryAfter(systemId, ip);
    if (locked > 0) return { ok: false, status: SmppStatus.ESME_RBINDFAIL, reason: `too many failed binds of this login or from ${ip}: locked for ${locked} s more` };
    const decision = await this.check(systemId, password, address);
    if (decision.ok) await this.throttle.succeeded(systemId);
    else if (decision.counts) await this.throttle.failed(systemId, ip);
    return decision;
  }

  private async check(systemId: string, password: string, address: Address | null): Promise<BindDecision & { counts?: boolean }> {
    // A refusal for a wrong login, address or password counts towards the lockout; one for a
    // blocked partner or a full set of binds does not (the credentials were right).
    const refuse = (reason: string, counts = true) => ({ ok: false as const, status: SmppStatus.ESME_RBINDFAIL, reason, counts });
    const { rows } = await this.pool.query<PartnerBindRow>({
      name: 'smpp-server.partnerForBind',
      text: 'SELECT id, login, status, allowed_ips, smpp_password_hash, smpp_max_binds FROM partner WHERE login = $1',
      values: [systemId],
    });
    const row = rows[0];
    if (!row) return refuse('no partner has this login');
    if (!address || !new IpAllowList(row.allowed_ips).allows(address)) return refuse(`address ${address?.toString() ?? 'unknown'} is not on the partner's allow-list`);
    if (row.smpp_password_hash === null) return refuse('the partner has no SMPP password (SMPP not enabled)');
    if (!verifyApiPassword(password, row.smpp_password_hash, this.config.API_PASSWORD_PEPPER)) return refuse('wrong SMPP password');
    if (row.status !== 'active') return refuse('the partner is blocked', false);
    const limit = row.smpp_max_binds ?? this.config.SMPP_MAX_BINDS;
    const member = `${this.instance}:${this.nextLease++}`;
    const key = this.key(row.id);
    const counted = await this.redis.smppTakeBind(key, limit, member, BIND_LEASE_MS);
    if (counted >= 0) return refuse(`the partner already has ${counted} binds (limit ${limit}, across instances)`, false);
    this.leases.set(member, row.id);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.leases.delete(member);
      this.redis.zrem(key, member).catch((e: unknown) => this.log.warn(`partner ${row.id}: bind lease not removed (it runs out by itself): ${(e as Error).message}`));
    };
    return { ok: true, partner: { id: row.id, login: row.login, passwordHash: row.smpp_password_hash }, release };
  }

  private key(partnerId: number): string {
    return `${this.config.REDIS_PREFIX}:smpp:binds:${partnerId}`;
  }

  private async refresh(): Promise<void> {
    if (this.leases.size === 0) return;
    const entries = [...this.leases];
    try {
      await this.redis.smppRefreshBinds(entries.length, ...entries.map(([, partnerId]) => this.key(partnerId)), BIND_LEASE_MS, ...entries.map(([member]) => member));
    } catch (e) {
      this.log.warn(`bind leases not refreshed: ${(e as Error).message}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.refresher);
  }
}
