import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Agent, request } from 'undici';
import { ALLOW_PRIVATE_TARGETS_ENV, CallbackTargetRefused } from '@smsgw/sms';
import { CALLBACK_CONFIG, type CallbackConfig } from '../config';
import { guardedConnector } from './guarded-connector';

export interface HttpOutcome {
  /** A 2xx answer arrived within the timeout. */
  ok: boolean;
  httpStatus: number | null;
  /** Why no status came back: `timeout after 10000 ms`, `connection refused`, ... */
  error: string | null;
  durationMs: number;
  contentType: string | null;
  /** The body of a 200, when asked for (MO), up to the limit. */
  body: Buffer | null;
  /** The body was longer than the limit; `body` holds its first bytes. */
  bodyTruncated: boolean;
}

export interface SendOptions {
  /** For the operator's log of a refused target. */
  partnerId?: number;
  headers?: Record<string, string>;
  /** Read a 200's body up to this many bytes; otherwise bodies are discarded. */
  readBodyLimit?: number;
}

/** A partner's body we discard is still read this far, so the keep-alive connection can be reused. */
const DISCARD_LIMIT = 64 * 1024;

/**
 * Sends callback GETs. Each partner has its own keep-alive pools (an undici Agent keeps one Pool
 * per origin), so a slow partner's connections never queue another partner's requests, even on a
 * shared host. Redirects are not followed. One deadline covers connect, headers and body.
 * Connections go to public addresses only (guarded-connector.ts) unless
 * CALLBACK_ALLOW_PRIVATE_TARGETS is on.
 */
@Injectable()
export class HttpSender implements OnApplicationShutdown {
  private readonly logger = new Logger(HttpSender.name);
  private readonly agents = new Map<string, { agent: Agent; connections: number }>();

  constructor(@Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig) {
    if (config.CALLBACK_ALLOW_PRIVATE_TARGETS) {
      this.logger.warn(`${ALLOW_PRIVATE_TARGETS_ENV} is on: callbacks may reach loopback, private and metadata addresses (development and tests only)`);
    }
  }

  /**
   * `pool` names the keep-alive pool (a partner's DLR and MO pushes have one each, so an MO never
   * queues behind reports); `connections` is the partner's concurrency, the size of that pool.
   */
  async send(pool: string, connections: number, url: string, opts: SendOptions = {}): Promise<HttpOutcome> {
    const timeoutMs = this.config.CALLBACK_TIMEOUT_MS;
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const outcome: HttpOutcome = { ok: false, httpStatus: null, error: null, durationMs: 0, contentType: null, body: null, bodyTruncated: false };
    try {
      const res = await request(url, {
        method: 'GET',
        headers: { 'user-agent': 'smsgw-callback/1', ...opts.headers },
        dispatcher: this.agent(pool, connections),
        signal: controller.signal,
      });
      outcome.httpStatus = res.statusCode;
      outcome.ok = res.statusCode >= 200 && res.statusCode < 300;
      const ct = res.headers['content-type'];
      outcome.contentType = typeof ct === 'string' ? ct : Array.isArray(ct) ? (ct[0] ?? null) : null;
      if (opts.readBodyLimit !== undefined && res.statusCode === 200) {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of res.body) {
          const buf = chunk as Buffer;
          if (size + buf.length > opts.readBodyLimit) {
            chunks.push(buf.subarray(0, opts.readBodyLimit - size));
            outcome.bodyTruncated = true;
            res.body.destroy();
            break;
          }
          chunks.push(buf);
          size += buf.length;
        }
        outcome.body = Buffer.concat(chunks);
      } else {
        await res.body.dump({ limit: DISCARD_LIMIT });
      }
    } catch (e) {
      if (controller.signal.aborted) {
        outcome.error = `timeout after ${timeoutMs} ms`;
        // A 2xx whose body did not arrive in time: the partner saw the request, but the answer
        // is incomplete. For a DLR the status line is the acknowledgement; an MO reply is lost.
        if (outcome.httpStatus !== null && outcome.ok && opts.readBodyLimit === undefined) outcome.error = null;
        else outcome.ok = false;
      } else {
        outcome.ok = false;
        outcome.error = describe(e);
        const refused = refusal(e);
        if (refused) {
          // The operator's full account; what partners see of it is neutral (the portal maps it).
          this.logger.warn(
            `callback ${pool}${opts.partnerId !== undefined ? ` of partner ${opts.partnerId}` : ''} not sent: host ${refused.host}` +
              `${refused.address && refused.address !== refused.host ? `, address ${refused.address}` : ''} is ${refused.reason} (${ALLOW_PRIVATE_TARGETS_ENV} is off)`,
          );
        }
      }
    } finally {
      clearTimeout(timer);
      outcome.durationMs = Math.round(performance.now() - started);
    }
    return outcome;
  }

  private agent(pool: string, connections: number): Agent {
    let entry = this.agents.get(pool);
    if (entry && entry.connections < connections) {
      // The partner's limit was raised: a new pool; the old one closes once its requests are done.
      void entry.agent.close().catch(() => undefined);
      entry = undefined;
    }
    if (!entry) {
      const agent = new Agent({
        // The partner gate holds the real limit across instances; this only bounds the pool.
        connections,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 60_000,
        connect: this.config.CALLBACK_ALLOW_PRIVATE_TARGETS ? { timeout: this.config.CALLBACK_TIMEOUT_MS } : guardedConnector({ timeout: this.config.CALLBACK_TIMEOUT_MS }),
        headersTimeout: this.config.CALLBACK_TIMEOUT_MS,
        bodyTimeout: this.config.CALLBACK_TIMEOUT_MS,
      });
      entry = { agent, connections };
      this.agents.set(pool, entry);
    }
    return entry.agent;
  }

  /** Runs after the workers stopped: nothing is in flight any more. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.agent.destroy().catch(() => undefined)));
    this.agents.clear();
  }
}

/** The policy refusal behind a failed request, if that is what it was. */
function refusal(e: unknown): CallbackTargetRefused | null {
  if (e instanceof CallbackTargetRefused) return e;
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof CallbackTargetRefused ? cause : null;
}

function describe(e: unknown): string {
  const refused = refusal(e);
  // Stored in callback_attempt for the operator; partner users see a neutral text instead.
  if (refused) return `refused by policy: ${refused.host}${refused.address && refused.address !== refused.host ? ` (${refused.address})` : ''} is ${refused.reason}`;
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect timeout';
    case 'UND_ERR_SOCKET':
      return `connection closed by the partner${err.message ? ` (${err.message})` : ''}`;
    default:
      return `${code ? `${code}: ` : ''}${err.message ?? String(e)}`.slice(0, 500);
  }
}
