import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { SMPP_RECEIVER_TTL_MS, smppBoundChannel, smppReceiversKey } from '@smsgw/contracts';
import { REDIS } from '@smsgw/intake';
import { SMPP_SERVER_CONFIG, type SmppServerConfig } from './config';

/**
 * Tells the callback workers where each partner's receiver and transceiver binds are: while this
 * instance holds at least one for a partner, `smppReceiversKey` names this instance's relay URL
 * (refreshed every third of SMPP_RECEIVER_TTL_MS, so a crashed instance drops out by itself).
 * A new bind is announced on `smppBoundChannel`: the partner's reports and MO waiting for a
 * retry are due at once.
 */
@Injectable()
export class ReceiverRegistry implements OnApplicationShutdown {
  private readonly log = new Logger(ReceiverRegistry.name);
  /** Receiver and transceiver binds per partner in this instance. */
  private readonly binds = new Map<number, number>();
  private url: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(SMPP_SERVER_CONFIG) private readonly config: SmppServerConfig,
  ) {}

  /** The HTTP port is listening: this instance's relay URL is known. */
  listening(httpPort: number): void {
    this.url = this.config.SMPP_SERVER_RELAY_URL ?? `http://127.0.0.1:${httpPort}`;
    this.timer = setInterval(() => void this.refresh(), Math.floor(SMPP_RECEIVER_TTL_MS / 3));
    this.timer.unref();
    // A bind taken before the port was known.
    void this.refresh();
  }

  /** Partners with a receiver or transceiver bind here. */
  partners(): number[] {
    return [...this.binds.keys()];
  }

  /** A receiver or transceiver bind of `partnerId` began. */
  async added(partnerId: number): Promise<void> {
    this.binds.set(partnerId, (this.binds.get(partnerId) ?? 0) + 1);
    try {
      await this.write(partnerId);
      await this.redis.publish(smppBoundChannel(this.config.REDIS_PREFIX), String(partnerId));
    } catch (e) {
      // The next refresh writes it; the partner's waiting reports then come at their retry time.
      this.log.error(`partner ${partnerId}: its bind could not be announced: ${(e as Error).message}`);
    }
  }

  /** A receiver or transceiver bind of `partnerId` ended. */
  async removed(partnerId: number): Promise<void> {
    const left = (this.binds.get(partnerId) ?? 1) - 1;
    if (left > 0) return void this.binds.set(partnerId, left);
    this.binds.delete(partnerId);
    if (this.url === null) return;
    await this.redis.hdel(smppReceiversKey(this.config.REDIS_PREFIX, partnerId), this.url).catch(() => undefined);
  }

  private async write(partnerId: number): Promise<void> {
    if (this.url === null) return;
    const key = smppReceiversKey(this.config.REDIS_PREFIX, partnerId);
    await this.redis.multi().hset(key, this.url, String(Date.now() + SMPP_RECEIVER_TTL_MS)).pexpire(key, SMPP_RECEIVER_TTL_MS).exec();
  }

  private async refresh(): Promise<void> {
    for (const partnerId of this.binds.keys()) {
      await this.write(partnerId).catch((e: unknown) => this.log.warn(`partner ${partnerId}: bind entry not refreshed: ${(e as Error).message}`));
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const url = this.url;
    if (url === null) return;
    await Promise.all(this.partners().map((id) => this.redis.hdel(smppReceiversKey(this.config.REDIS_PREFIX, id), url).catch(() => undefined)));
    this.binds.clear();
  }
}
