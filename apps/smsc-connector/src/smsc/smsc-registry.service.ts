import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { PDU } from 'smpp';
import { waitForRedis } from '@smsgw/common';
import { smscChangedChannel } from '@smsgw/contracts';
import { abortableSleep } from '../backoff';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';
import { TemporaryError } from '../errors';
import { PG_POOL, REDIS_SUBSCRIBER } from '../infra/tokens';
import { InboundService } from '../inbound/inbound.service';
import { type LinkState, SmscLink, type SmscConnectionRow } from './smsc-link';

/**
 * The enabled `smsc_connection` rows, each kept bound by an SmscLink, and the routing of a number
 * to one of them. Operators' changes arrive on the `smsc-changed` channel (admin CLI) and are
 * applied at once; a periodic full reload covers notifications lost while Redis was away.
 */
@Injectable()
export class SmscRegistry {
  private readonly log = new Logger(SmscRegistry.name);
  private readonly links = new Map<number, SmscLink>();
  /** Links replaced or removed, still finishing their submits. */
  private readonly retiring = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly changeListeners: Array<() => void> = [];
  /** Reloads run one after another, so an older one never undoes a newer one. */
  private reloads: Promise<void> = Promise.resolve();
  private readonly onMessage = (channel: string) => {
    if (channel === smscChangedChannel(this.config.REDIS_PREFIX)) void this.reload();
  };

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly inbound: InboundService,
  ) {}

  /**
   * Loads the connections and starts binding; resolves when each transmitting session had its
   * first try (bounded), so that the workers do not start by pushing every job into backoff.
   */
  async start(): Promise<void> {
    await this.reload();
    const channel = smscChangedChannel(this.config.REDIS_PREFIX);
    this.subscriber.on('message', this.onMessage);
    await waitForRedis(this.subscriber, 10_000);
    await this.subscriber.subscribe(channel);
    // After a reconnect ioredis re-subscribes; what was announced meanwhile comes with a reload.
    this.subscriber.on('ready', () => void this.reload());
    this.timer = setInterval(() => void this.reload(), this.config.CONNECTOR_RELOAD_SECONDS * 1000);
    this.timer.unref();
    const firstTries = Promise.all([...this.links.values()].map((l) => l.firstBindAttempt));
    const limit = abortableSleep(this.config.CONNECTOR_SUBMIT_TIMEOUT_MS);
    await Promise.race([firstTries, limit.done]);
    limit.abort();
  }

  reload(): Promise<void> {
    this.reloads = this.reloads
      .then(() => this.apply())
      .catch((e: Error) => this.log.error(`SMSC connections reload failed: ${e.message}`));
    return this.reloads;
  }

  /**
   * The connection for a number: among those whose routes match, lowest priority value first,
   * skipping unbound ones (failover). `preferredId` (the SMSC that took a message's first
   * segments) wins while it is bound. Throws a TemporaryError when none can take it now.
   */
  pick(msisdn: string, preferredId: number | null): SmscLink {
    const candidates = [...this.links.values()].filter((l) => l.serves(msisdn)).sort((a, b) => a.priority - b.priority || a.id - b.id);
    if (candidates.length === 0) throw new TemporaryError(`no SMSC connection routes ${msisdn}`, 'no_route');
    const preferred = preferredId === null ? undefined : candidates.find((l) => l.id === preferredId && l.bound);
    const link = preferred ?? candidates.find((l) => l.bound);
    if (!link) throw new TemporaryError(`no SMSC connection for ${msisdn} is bound`, 'not_bound');
    return link;
  }

  /**
   * Submits the connections can have in progress at once: each link's window, or its TPS when that
   * is smaller (a second's worth of submits).
   */
  submitCapacity(): number {
    let total = 0;
    for (const link of this.links.values()) {
      const { window, tps } = link.state();
      total += Math.min(window, tps);
    }
    return total;
  }

  /** Called after every reload (connections added, changed or removed). */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  states(): LinkState[] {
    return [...this.links.values()].map((l) => l.state()).sort((a, b) => a.id - b.id);
  }

  /** Shutdown, first step: see SmscLink.refuseNewSubmits. */
  refuseNewSubmits(): void {
    for (const link of this.links.values()) link.refuseNewSubmits();
  }

  /** Stops reloading, then stops every link (see SmscLink.stop) at once. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.subscriber.off('message', this.onMessage);
    await this.reloads;
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all([...links.map((l) => l.stop(timeoutMs)), ...this.retiring]);
  }

  private async apply(): Promise<void> {
    if (this.stopped) return;
    const { rows } = await this.pool.query<SmscConnectionRow>(
      `SELECT id, name, host, port, system_id, password, system_type, bind_mode, tps, "window", routes, priority, enabled
       FROM smsc_connection WHERE enabled ORDER BY id`,
    );
    if (this.stopped) return;
    const seen = new Set<number>();
    for (const row of rows) {
      seen.add(row.id);
      const link = this.links.get(row.id);
      if (!link) {
        this.add(row);
      } else if (link.needsRebind(row)) {
        this.log.log(`connection ${row.name} changed: rebinding`);
        this.retire(link);
        this.add(row);
      } else {
        link.update(row);
      }
    }
    for (const [id, link] of this.links) {
      if (!seen.has(id)) {
        this.log.log(`connection ${link.name} disabled or removed: unbinding`);
        this.retire(link);
      }
    }
    for (const listener of this.changeListeners) listener();
  }

  private add(row: SmscConnectionRow): void {
    const link = new SmscLink(row, {
      config: this.config,
      onDeliverSm: (l: SmscLink, pdu: PDU) => this.inbound.handle(l.id, l.name, pdu),
    });
    this.links.set(row.id, link);
    link.start();
  }

  private retire(link: SmscLink): void {
    if (this.links.get(link.id) === link) this.links.delete(link.id);
    const done = link.stop(this.config.CONNECTOR_SHUTDOWN_TIMEOUT_MS).finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }
}
