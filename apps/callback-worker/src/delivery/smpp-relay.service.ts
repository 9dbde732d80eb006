import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { Agent, request } from 'undici';
import { SMPP_RELAY_MAX_BATCH, SMPP_RELAY_PATH, smppReceiversKey, type SmppRelayItem, type SmppRelayRequest, type SmppRelayResponse, type SmppRelayResult } from '@smsgw/contracts';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { REDIS } from '../infra/tokens';
import type { HttpOutcome } from './http-sender.service';

/** Where a partner's binds are, read from Redis at most this often per partner. */
const RECEIVERS_TTL_MS = 1_000;
/** A relay request's body, at most about (the SMPP server takes up to 64 MiB). */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

interface Pending {
  partnerId: number;
  item: SmppRelayItem;
  resolve(result: SmppRelayResult): void;
}

/**
 * Pushes a report or MO of a partner whose status or MO URL is `smpp:`: the SMPP server instance
 * holding one of its receiver or transceiver binds (`smppReceiversKey`) sends it as deliver_sm and
 * answers once the partner acknowledged it. The outcome reads as an HTTP push's does, so the
 * attempt, retry and parking rules are the same; with no bind anywhere, the attempt fails with
 * `no SMPP receiver bind` and the next bind makes it due at once (SmppWake). What the worker has
 * for one instance at one moment goes in one request (up to SMPP_RELAY_MAX_BATCH).
 */
@Injectable()
export class SmppRelay implements OnApplicationShutdown {
  private readonly receivers = new Map<number, { urls: string[]; at: number }>();
  /** Items gathering for one request, by instance, and their estimated size. */
  private readonly batches = new Map<string, Pending[]>();
  private readonly bytes = new WeakMap<Pending[], number>();
  /** The SMPP servers are ours, on the internal network: no target policy, one pool per instance. */
  private readonly agent: Agent;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
  ) {
    this.agent = new Agent({ connections: 64, keepAliveTimeout: 10_000, connect: { timeout: config.CALLBACK_TIMEOUT_MS } });
  }

  async send(partnerId: number, item: SmppRelayItem): Promise<HttpOutcome> {
    const started = performance.now();
    const outcome = (ok: boolean, error: string | null): HttpOutcome => ({ ok, httpStatus: null, error, durationMs: Math.round(performance.now() - started), contentType: null, body: null, bodyTruncated: false });
    const urls = await this.urls(partnerId);
    if (urls.length === 0) return outcome(false, 'no SMPP receiver bind');
    const url = urls[Math.floor(Math.random() * urls.length)]!;
    const result = await new Promise<SmppRelayResult>((resolve) => this.enqueue(url, { partnerId, item, resolve }));
    if (!result.ok) this.receivers.delete(partnerId);
    return outcome(result.ok, result.ok ? null : result.error);
  }

  /** Items for one instance gather until the end of this turn of the event loop: one request carries them. */
  private enqueue(url: string, pending: Pending): void {
    let batch = this.batches.get(url);
    if (!batch) {
      batch = [];
      this.batches.set(url, batch);
      setImmediate(() => {
        if (this.batches.get(url) === batch) this.batches.delete(url);
        void this.post(url, batch!);
      });
    }
    batch.push(pending);
    // A full batch goes as it is; the next item starts another. Long MO count by their text, so
    // that a request stays well under the SMPP server's body limit.
    this.bytes.set(batch, (this.bytes.get(batch) ?? 0) + (pending.item.kind === 'mo' ? pending.item.text.length * 3 : 0) + 300);
    if (batch.length >= SMPP_RELAY_MAX_BATCH || this.bytes.get(batch)! >= MAX_REQUEST_BYTES) this.batches.delete(url);
  }

  private async post(url: string, batch: Pending[]): Promise<void> {
    const timeoutMs = this.config.CALLBACK_TIMEOUT_MS;
    const body: SmppRelayRequest = { timeoutMs: Math.max(1, timeoutMs - 500), items: batch.map(({ partnerId, item }) => ({ partnerId, item })) };
    let results: SmppRelayResult[];
    try {
      const res = await request(`${url}${SMPP_RELAY_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        dispatcher: this.agent,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.statusCode !== 200) {
        const text = (await res.body.text()).slice(0, 200);
        results = batch.map(() => ({ ok: false, error: `SMPP server ${url}: HTTP ${res.statusCode} ${text}` }));
      } else {
        // The SMPP server's own account of a failure, as the attempt log shows it.
        results = ((await res.body.json()) as SmppRelayResponse).results.map((r) => (r.ok ? r : { ok: false, error: `smpp: ${r.error}` }));
      }
    } catch (e) {
      const err = e as { name?: string; message?: string };
      const error = err.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : `SMPP server ${url} not reached: ${err.message ?? String(e)}`;
      results = batch.map(() => ({ ok: false, error }));
    }
    batch.forEach((p, i) => p.resolve(results[i] ?? { ok: false, error: `SMPP server ${url}: no answer for this item` }));
  }

  /** Relay URLs of the instances with a live receiver or transceiver bind of the partner. */
  private async urls(partnerId: number): Promise<string[]> {
    const hit = this.receivers.get(partnerId);
    if (hit && Date.now() - hit.at < RECEIVERS_TTL_MS) return hit.urls;
    const entries = await this.redis.hgetall(smppReceiversKey(this.config.REDIS_PREFIX, partnerId));
    const now = Date.now();
    const urls = Object.entries(entries)
      .filter(([, until]) => Number(until) > now)
      .map(([url]) => url);
    this.receivers.set(partnerId, { urls, at: now });
    return urls;
  }

  /** A partner bound: read where its binds are again. */
  forget(partnerId: number): void {
    this.receivers.delete(partnerId);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.destroy().catch(() => undefined);
  }
}
