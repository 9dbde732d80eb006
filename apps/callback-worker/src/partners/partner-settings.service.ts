import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { waitForRedis } from '@smsgw/common';
import { ALL_PARTNERS, partnerChangedChannel } from '@smsgw/contracts';
import { callbackBaseUrl, isSmppCallbackTarget, SMPP_CALLBACK_TARGET } from '@smsgw/sms';
import { redactCallbackUrl } from '../delivery/redact-url';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { PG_POOL, REDIS_SUBSCRIBER } from '../infra/tokens';

/**
 * A partner's callback URL, parsed once: callbacks append their parameters to `base`. `smpp:`
 * sends them over the partner's SMPP binds instead (SmppRelay); `base` and `redacted` are then
 * `smpp:`, as the attempt log shows it.
 */
export type CallbackUrl =
  | { ok: true; smpp: boolean; base: string; /** `base` as the attempt log shows it */ redacted: string }
  | { ok: false; raw: string; error: string };

/** What the callback worker needs to know about a partner. */
export interface CallbackPartner {
  id: number;
  login: string;
  blocked: boolean;
  statusUrl: CallbackUrl | null;
  moUrl: CallbackUrl | null;
  /** Callback requests in flight to this partner across all instances, per kind. */
  concurrency: number;
  /** Canonical callback parameter name → the partner's name. */
  paramNames: Record<string, string>;
  signingSecret: string | null;
  intermediateReports: boolean;
  /** PROTOCOL §6: all MO of the partner in one line, or one line per subscriber. */
  moOrder: 'partner' | 'subscriber';
  testMode: boolean;
  testEndsAt: Date | null;
  validityMinutes: number;
}

interface PartnerRow {
  id: number;
  login: string;
  status: string;
  status_url: string | null;
  mo_url: string | null;
  callback_param_names: unknown;
  signing_secret: string | null;
  intermediate_reports: boolean;
  callback_concurrency: number | null;
  mo_order: 'partner' | 'subscriber';
  test_mode: boolean;
  test_ends_at: Date | null;
  validity_minutes: number;
}

const SELECT = `SELECT id, login, status::text AS status, status_url, mo_url, callback_param_names, signing_secret,
  intermediate_reports, callback_concurrency, mo_order::text AS mo_order, test_mode, test_ends_at, validity_minutes FROM partner WHERE id = $1`;

/**
 * Partner settings read on first use and kept in memory. A change announced by the admin CLI
 * drops the entry at once; without a notification an entry is re-read after
 * PARTNER_RELOAD_SECONDS, so a lost notification delays a change but never loses it.
 */
@Injectable()
export class PartnerSettings {
  private readonly logger = new Logger(PartnerSettings.name);
  private readonly cache = new Map<number, { partner: CallbackPartner | null; loadedAt: number }>();
  private readonly loading = new Map<number, Promise<CallbackPartner | null>>();
  /** Bumped by every invalidation: a load that started before one must not be cached. */
  private generation = 0;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
  ) {}

  /** Follows change notifications (CallbackLifecycle calls it once PostgreSQL and Redis answer). */
  async start(): Promise<void> {
    const channel = partnerChangedChannel(this.config.REDIS_PREFIX);
    this.subscriber.on('message', (ch: string, payload: string) => {
      if (ch !== channel) return;
      this.generation++;
      const id = Number(payload);
      if (payload === ALL_PARTNERS || !Number.isInteger(id)) this.cache.clear();
      else this.cache.delete(id);
    });
    await waitForRedis(this.subscriber, 10_000);
    await this.subscriber.subscribe(channel);
    // After a reconnect, changes announced meanwhile were missed.
    this.subscriber.on('ready', () => {
      this.generation++;
      this.cache.clear();
    });
  }

  /** The partner, or null if it does not exist. */
  get(id: number): Promise<CallbackPartner | null> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.loadedAt < this.config.PARTNER_RELOAD_SECONDS * 1000) return Promise.resolve(hit.partner);
    let load = this.loading.get(id);
    if (!load) {
      const generation = this.generation;
      load = this.load(id)
        .then((partner) => {
          if (generation === this.generation) this.cache.set(id, { partner, loadedAt: Date.now() });
          return partner;
        })
        .finally(() => this.loading.delete(id));
      this.loading.set(id, load);
    }
    return load;
  }

  private async load(id: number): Promise<CallbackPartner | null> {
    const { rows } = await this.pool.query<PartnerRow>(SELECT, [id]);
    const r = rows[0];
    if (!r) return null;
    return {
      id: r.id,
      login: r.login,
      blocked: r.status !== 'active',
      statusUrl: compileUrl(r.status_url),
      moUrl: compileUrl(r.mo_url),
      concurrency: r.callback_concurrency !== null && r.callback_concurrency > 0 ? r.callback_concurrency : this.config.CALLBACK_PARTNER_CONCURRENCY,
      paramNames: this.names(r),
      signingSecret: nonEmpty(r.signing_secret),
      intermediateReports: r.intermediate_reports,
      moOrder: r.mo_order,
      testMode: r.test_mode,
      testEndsAt: r.test_ends_at,
      validityMinutes: r.validity_minutes,
    };
  }

  private names(r: PartnerRow): Record<string, string> {
    const raw = r.callback_param_names;
    const names: Record<string, string> = {};
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
      for (const [k, v] of Object.entries(raw)) if (typeof v === 'string' && v !== '') names[k] = v;
    } else if (raw !== null && raw !== undefined) {
      this.logger.warn(`partner ${r.id}: callback_param_names is not an object, using canonical names`);
    }
    return names;
  }
}

function compileUrl(raw: string | null): CallbackUrl | null {
  const url = nonEmpty(raw);
  if (url === null) return null;
  if (isSmppCallbackTarget(url)) return { ok: true, smpp: true, base: SMPP_CALLBACK_TARGET, redacted: SMPP_CALLBACK_TARGET };
  try {
    const base = callbackBaseUrl(url);
    return { ok: true, smpp: false, base, redacted: redactCallbackUrl(base) };
  } catch (e) {
    return { ok: false, raw: url, error: (e as Error).message };
  }
}

function nonEmpty(s: string | null): string | null {
  return s === null || s.trim() === '' ? null : s.trim();
}
