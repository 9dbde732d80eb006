import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { Agent, request } from 'undici';
import { SMPP_RELAY_PATH, smppReceiversKey, type SmppRelayRequest, type SmppRelayResult } from '@smsgw/contracts';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { REDIS } from '../infra/tokens';
import type { HttpOutcome } from './http-sender.service';

/** Where a partner's binds are, read from Redis at most this often per partner. */
const RECEIVERS_TTL_MS = 1_000;

/**
 * Pushes a report or MO of a partner whose status or MO URL is `smpp:`: the SMPP server instance
 * holding one of its receiver or transceiver binds (`smppReceiversKey`) sends it as deliver_sm and
 * answers once the partner acknowledged it. The outcome reads as an HTTP push's does, so the
 * attempt, retry and parking rules are the same; with no bind anywhere, the attempt fails with
 * `no SMPP receiver bind` and the next bind makes it due at once (SmppWake).
 */
@Injectable()
export class SmppRelay implements OnApplicationShutdown {
  private readonly receivers = new Map<number, { urls: string[]; at: number }>();
  /** The SMPP servers are ours, on the internal network: no target policy, one pool per instance. */
  private readonly agent: Agent;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
  ) {
    this.agent = new Agent({ connections: 64, keepAliveTimeout: 10_000, connect: { timeout: config.CALLBACK_TIMEOUT_MS } });
  }

  async send(partnerId: number, item: SmppRelayRequest['item']): Promise<HttpOutcome> {
    const started = performance.now();
    const outcome = (ok: boolean, error: string | null): HttpOutcome => ({ ok, httpStatus: null, error, durationMs: Math.round(performance.now() - started), contentType: null, body: null, bodyTruncated: false });
    const urls = await this.urls(partnerId);
    if (urls.length === 0) return outcome(false, 'no SMPP receiver bind');
    const url = urls[Math.floor(Math.random() * urls.length)]!;
    const timeoutMs = this.config.CALLBACK_TIMEOUT_MS;
    const body: SmppRelayRequest = { partnerId, timeoutMs: Math.max(1, timeoutMs - 500), item };
    try {
      const res = await request(`${url}${SMPP_RELAY_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        dispatcher: this.agent,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.statusCode !== 200) {
        this.receivers.delete(partnerId);
        const text = (await res.body.text()).slice(0, 200);
        return outcome(false, `SMPP server ${url}: HTTP ${res.statusCode} ${text}`);
      }
      const result = (await res.body.json()) as SmppRelayResult;
      if (!result.ok) this.receivers.delete(partnerId);
      return outcome(result.ok, result.ok ? null : `smpp: ${result.error}`);
    } catch (e) {
      this.receivers.delete(partnerId);
      const err = e as { name?: string; message?: string };
      return outcome(false, err.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : `SMPP server ${url} not reached: ${err.message ?? String(e)}`);
    }
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
