import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { dlrJobId, smppBoundChannel } from '@smsgw/contracts';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { PartnerGate } from '../delivery/partner-gate.service';
import { SmppRelay } from '../delivery/smpp-relay.service';
import { CALLBACK_DLR_QUEUE, CALLBACK_MO_QUEUE, PG_POOL, REDIS_SUBSCRIBER } from '../infra/tokens';
import { MoOrder } from '../mo/mo-order.service';
import { PartnerSettings } from '../partners/partner-settings.service';
import { CALLBACK_JOB_COLUMNS, promoteCallbacks, promoteJob, type CallbackJobRow } from './resend-parked';

const DUE_NOW_SQL = `
UPDATE callback SET next_attempt_at = now(), updated_at = now()
WHERE state = 'pending' AND partner_id = $1 AND kind = ANY($2::callback_kind[]) AND next_attempt_at > now()
RETURNING ${CALLBACK_JOB_COLUMNS}`;

/**
 * "Retried on a new bind": when an SMPP server announces a receiver or transceiver bind of a
 * partner whose reports or MO go over SMPP, the ones waiting for a retry (the partner had no bind,
 * or did not answer) are made due now instead of at their backoff's next attempt, its breaker for
 * reports closes, and its MO line no longer counts as down. Every worker instance hears it; the first one's UPDATE takes the rows.
 */
@Injectable()
export class SmppWake {
  private readonly logger = new Logger(SmppWake.name);

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(CALLBACK_DLR_QUEUE) private readonly dlr: Queue,
    @Inject(CALLBACK_MO_QUEUE) private readonly mo: Queue,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
    private readonly partners: PartnerSettings,
    private readonly relay: SmppRelay,
    private readonly order: MoOrder,
    private readonly gate: PartnerGate,
  ) {}

  /** Follows bind announcements (CallbackLifecycle calls it once Redis answers). */
  async start(): Promise<void> {
    const channel = smppBoundChannel(this.config.REDIS_PREFIX);
    this.subscriber.on('message', (ch: string, payload: string) => {
      if (ch !== channel) return;
      const partnerId = Number(payload);
      if (!Number.isInteger(partnerId) || partnerId <= 0) return;
      this.wake(partnerId).catch((e: unknown) => this.logger.error(`partner ${partnerId} bound over SMPP, but its waiting callbacks were not made due: ${(e as Error).message}`));
    });
    await this.subscriber.subscribe(channel);
  }

  /** Makes the partner's waiting SMPP reports and MO due now; returns how many. */
  async wake(partnerId: number): Promise<number> {
    this.relay.forget(partnerId);
    const partner = await this.partners.get(partnerId);
    const kinds = [partner?.statusUrl?.ok && partner.statusUrl.smpp ? 'dlr' : null, partner?.moUrl?.ok && partner.moUrl.smpp ? 'mo' : null].filter((k) => k !== null);
    if (kinds.length === 0) return 0;
    if (kinds.includes('mo')) await this.order.clearDown(partnerId);
    if (kinds.includes('dlr')) await this.gate.reset('dlr', partnerId);
    const { rows } = await this.pool.query<CallbackJobRow>(DUE_NOW_SQL, [partnerId, kinds]);
    await promoteCallbacks({ dlr: this.dlr, mo: this.mo }, rows);
    // Reports the breaker held back before any attempt: they have jobs but no rows.
    const held = kinds.includes('dlr') ? await this.gate.takeHeld(partnerId) : [];
    for (const h of held) await promoteJob(this.dlr, dlrJobId(h.messageId, h.status));
    const n = rows.length + held.length;
    if (n > 0) this.logger.log(`partner ${partnerId} bound over SMPP: ${n} waiting callbacks due now`);
    return n;
  }
}
