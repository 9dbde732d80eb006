import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { verifyApiPassword } from '@smsgw/db';
import { IpAllowList, SmppStatus, type Address } from '@smsgw/sms';
import { SMPP_SERVER_CONFIG, type SmppServerConfig } from './config';
import { PG_POOL } from '@smsgw/intake';

export type BindMode = 'transmitter' | 'receiver' | 'transceiver';

export interface BoundPartner {
  id: number;
  login: string;
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
 */
@Injectable()
export class PartnerBinds {
  /** Live binds per partner id, in this instance. */
  private readonly live = new Map<number, number>();

  constructor(
    @Inject(SMPP_SERVER_CONFIG) private readonly config: SmppServerConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async decide(systemId: string, password: string, address: Address | null): Promise<BindDecision> {
    const refuse = (reason: string): BindDecision => ({ ok: false, status: SmppStatus.ESME_RBINDFAIL, reason });
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
    if (row.status !== 'active') return refuse('the partner is blocked');
    const limit = row.smpp_max_binds ?? this.config.SMPP_MAX_BINDS;
    const count = this.live.get(row.id) ?? 0;
    if (count >= limit) return refuse(`the partner already has ${count} binds (limit ${limit})`);
    this.live.set(row.id, count + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.live.get(row.id) ?? 1) - 1;
      if (left > 0) this.live.set(row.id, left);
      else this.live.delete(row.id);
    };
    return { ok: true, partner: { id: row.id, login: row.login }, release };
  }

  /** Live binds of a partner in this instance. */
  binds(partnerId: number): number {
    return this.live.get(partnerId) ?? 0;
  }
}
