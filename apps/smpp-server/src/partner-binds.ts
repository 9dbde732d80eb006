import { Inject, Injectable } from '@nestjs/common';
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
 */
@Injectable()
export class PartnerBinds {
  /** Live binds per partner id, in this instance. */
  private readonly live = new Map<number, number>();
  private readonly throttle: FailureThrottle;

  constructor(
    @Inject(SMPP_SERVER_CONFIG) private readonly config: SmppServerConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) redis: Redis,
  ) {
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
    const count = this.live.get(row.id) ?? 0;
    if (count >= limit) return refuse(`the partner already has ${count} binds (limit ${limit})`, false);
    this.live.set(row.id, count + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.live.get(row.id) ?? 1) - 1;
      if (left > 0) this.live.set(row.id, left);
      else this.live.delete(row.id);
    };
    return { ok: true, partner: { id: row.id, login: row.login, passwordHash: row.smpp_password_hash }, release };
  }
}
