import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { waitForRedis } from '@smsgw/common';
import { ALL_PARTNERS, partnerChangedChannel } from '@smsgw/contracts';
import { INTAKE_CONFIG, PG_POOL, REDIS_SUBSCRIBER, type IntakeConfig } from './tokens';
import { CachedPartner, type PartnerRow } from './partner';

/** Payload of a change notification that concerns the number blacklist. */
export const BLACKLIST_CHANGED = 'blacklist';

/**
 * Partner settings and the number blacklist held in memory. Operators' changes arrive by Redis
 * pub/sub (see the admin CLI) and are applied within milliseconds; a periodic full reload covers
 * notifications lost while Redis was unreachable.
 */
@Injectable()
export class PartnerCache implements OnModuleDestroy {
  private readonly logger = new Logger(PartnerCache.name);
  private byLogin = new Map<string, CachedPartner>();
  private byId = new Map<number, CachedPartner>();
  /** Every name under which some partner sends its login (serviceId or a renamed one). */
  private loginParamNames: string[] = ['serviceId'];
  private blacklist = new Set<string>();
  private timer?: NodeJS.Timeout;
  /**
   * Reloads and single changes run one after another: a full reload whose query started before a
   * change was committed must not overwrite that change when it finishes later.
   */
  private updates: Promise<void> = Promise.resolve();

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(INTAKE_CONFIG) private readonly config: IntakeConfig,
  ) {}

  /** Loads everything and follows changes; the app's lifecycle calls it once PostgreSQL and Redis answer. */
  async start(): Promise<void> {
    await this.reloadAll();
    const channel = partnerChangedChannel(this.config.redisPrefix);
    this.subscriber.on('message', (ch: string, payload: string) => {
      if (ch === channel) void this.serially(() => this.onChange(payload));
    });
    // Subscribing before the connection is ready races ioredis's ready check (INFO is refused
    // in subscriber mode); wait, then subscribe. ioredis re-subscribes after reconnects, and a
    // full reload then covers whatever was announced while the connection was down.
    await waitForRedis(this.subscriber, 10_000);
    await this.subscriber.subscribe(channel);
    this.subscriber.on('ready', () => void this.serially(() => this.reloadAll()));
    this.timer = setInterval(() => void this.serially(() => this.reloadAll()), this.config.partnerReloadSeconds * 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Finds the partner a request names, whatever that partner calls its login parameter. */
  resolve(params: { get(name: string): string | undefined }): { partner: CachedPartner | null; loginGiven: boolean } {
    let loginGiven = false;
    for (const name of this.loginParamNames) {
      const login = params.get(name);
      if (login === undefined) continue;
      loginGiven = true;
      const partner = this.byLogin.get(login);
      if (partner && partner.paramName('serviceId') === name) return { partner, loginGiven };
    }
    return { partner: null, loginGiven };
  }

  byPartnerId(id: number): CachedPartner | undefined {
    return this.byId.get(id);
  }

  isBlacklisted(msisdn: string): boolean {
    return this.blacklist.has(msisdn);
  }

  private serially(update: () => Promise<void>): Promise<void> {
    this.updates = this.updates.then(update).catch((e) => this.logger.error(`partner settings reload failed: ${(e as Error).message}`));
    return this.updates;
  }

  async reloadAll(): Promise<void> {
    const [partners, blacklist] = await Promise.all([
      this.pool.query<PartnerRow>('SELECT * FROM partner'),
      this.pool.query<{ msisdn: string }>('SELECT msisdn FROM blacklisted_number'),
    ]);
    const byLogin = new Map<string, CachedPartner>();
    const byId = new Map<number, CachedPartner>();
    for (const row of partners.rows) this.add(new CachedPartner(row), byLogin, byId);
    this.byLogin = byLogin;
    this.byId = byId;
    this.blacklist = new Set(blacklist.rows.map((r) => r.msisdn));
    this.refreshLoginNames();
  }

  private async onChange(payload: string): Promise<void> {
    try {
      if (payload === ALL_PARTNERS) return await this.reloadAll();
      if (payload === BLACKLIST_CHANGED) {
        const rows = await this.pool.query<{ msisdn: string }>('SELECT msisdn FROM blacklisted_number');
        this.blacklist = new Set(rows.rows.map((r) => r.msisdn));
        return;
      }
      const id = Number(payload);
      if (!Number.isInteger(id)) return;
      const { rows } = await this.pool.query<PartnerRow>('SELECT * FROM partner WHERE id = $1', [id]);
      const old = this.byId.get(id);
      if (old) {
        this.byId.delete(id);
        if (this.byLogin.get(old.row.login) === old) this.byLogin.delete(old.row.login);
      }
      if (rows[0]) this.add(new CachedPartner(rows[0]), this.byLogin, this.byId);
      this.refreshLoginNames();
      this.logger.log(`partner ${id} settings reloaded`);
    } catch (e) {
      this.logger.error(`could not apply settings change "${payload}": ${(e as Error).message}`);
    }
  }

  private add(p: CachedPartner, byLogin: Map<string, CachedPartner>, byId: Map<number, CachedPartner>): void {
    byLogin.set(p.row.login, p);
    byId.set(p.id, p);
  }

  private refreshLoginNames(): void {
    const names = new Set<string>();
    for (const p of this.byId.values()) names.add(p.paramName('serviceId'));
    if (names.size === 0) names.add('serviceId');
    this.loginParamNames = [...names];
  }
}
