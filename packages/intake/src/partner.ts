import { createHmac, timingSafeEqual } from 'node:crypto';
import { REQUEST_PARAMS, type RequestParam } from '@smsgw/contracts';
import { IpAllowList } from '@smsgw/sms';

/** The `partner` row as the hot path needs it. */
export interface PartnerRow {
  id: number;
  login: string;
  api_password_hash: string;
  status: 'active' | 'blocked';
  allowed_ips: string[];
  senders: string[];
  default_sender: string | null;
  dynamic_signature: boolean;
  polling_enabled: boolean;
  request_param_names: Record<string, unknown>;
  rate_limit: number;
  validity_minutes: number;
  postponed_enabled: boolean;
  postponed_horizon_days: number;
  time_zone: string;
  default_country: string;
  duplicate_filter: boolean;
  duplicate_max: number;
  duplicate_window_hours: number;
  test_mode: boolean;
  test_quota: number;
  test_ends_at: Date | null;
  test_real_delivery: boolean;
  /** The SMPP bind password's hash (null: SMPP binds refused); the SMPP server's. */
  smpp_password_hash: string | null;
  updated_at: Date;
}

/** A partner's settings compiled for per-request use: no parsing or lookups on the hot path. */
export class CachedPartner {
  readonly allowList: IpAllowList;
  readonly senders: ReadonlySet<string>;
  /** canonical name -> the name this partner sends */
  private readonly names: Record<RequestParam, string>;
  private readonly passwordHash: Buffer;
  /** The last password that matched, so that the keyed hash runs once per settings load. */
  private verifiedPassword: Buffer | null = null;

  constructor(readonly row: PartnerRow) {
    this.allowList = new IpAllowList(row.allowed_ips);
    this.senders = new Set(row.senders);
    const names = {} as Record<RequestParam, string>;
    for (const p of REQUEST_PARAMS) {
      const custom = row.request_param_names?.[p];
      names[p] = typeof custom === 'string' && custom.length > 0 ? custom : p;
    }
    this.names = names;
    this.passwordHash = Buffer.from(row.api_password_hash, 'hex');
  }

  get id(): number {
    return this.row.id;
  }

  paramName(p: RequestParam): string {
    return this.names[p];
  }

  /** Keyed SHA-256 of the presented password compared in constant time. */
  checkPassword(password: string, pepper: string): boolean {
    const given = Buffer.from(password);
    const known = this.verifiedPassword;
    if (known && known.length === given.length && timingSafeEqual(known, given)) return true;
    const presented = createHmac('sha256', pepper).update(given).digest();
    const ok = presented.length === this.passwordHash.length && timingSafeEqual(presented, this.passwordHash);
    if (ok) this.verifiedPassword = given;
    return ok;
  }

  testPeriodOver(now: number): boolean {
    return this.row.test_mode && this.row.test_ends_at !== null && this.row.test_ends_at.getTime() <= now;
  }
}
