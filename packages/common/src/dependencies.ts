import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Pool } from 'pg';

/**
 * Something a service needs in order to work (PostgreSQL, Redis): `/health` checks it on every
 * call, and a starting service waits until it answers (see Startup).
 */
export interface HealthCheck {
  /** The key in /health's answer: `postgres`, `redis`. */
  name: string;
  /** Resolves when it answers, rejects with why not. */
  check(): Promise<void>;
  /** How log lines name it: `PostgreSQL`, `Redis` (default: `name`). */
  label?: string;
  /** `host:port`, for log lines: never the URL, which may carry a password. */
  address?: string;
}
export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');

/** PostgreSQL, checked with `SELECT 1` on the service's pool. */
export function postgresDependency(pool: Pool, databaseUrl: string): HealthCheck {
  return {
    name: 'postgres',
    label: 'PostgreSQL',
    address: endpointOf(databaseUrl, 5432),
    check: async () => void (await pool.query('SELECT 1')),
  };
}

/**
 * Redis, checked with PING on the first of the service's connections; the others must be
 * connected too (a subscriber, a queue's connection), so that a service whose start waited for
 * Redis finds every connection it uses ready. While a connection is down the check fails at once
 * with the connection's own error (`connect ECONNREFUSED …`), not with ioredis's "Stream isn't
 * writeable"; a connection being made is given a second to finish.
 */
export function redisDependency(connections: Redis | readonly Redis[], redisUrl: string): HealthCheck {
  const all: readonly Redis[] = Array.isArray(connections) ? connections : [connections as Redis];
  let lastError: string | undefined;
  for (const redis of all) redis.on('error', (e: Error) => (lastError = e.message));
  return {
    name: 'redis',
    label: 'Redis',
    address: endpointOf(redisUrl, 6379),
    check: async () => {
      for (const redis of all) {
        if (redis.status === 'connecting' || redis.status === 'connect') await connectionSettled(redis, 1000);
        if (redis.status !== 'ready') throw new Error(lastError ?? `connection ${redis.status}`);
      }
      await all[0]?.ping();
    },
  };
}

/** Resolves when `redis` is ready, fails, or closes, or after `ms`: whichever comes first. */
function connectionSettled(redis: Redis, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const event of ['ready', 'error', 'close'] as const) redis.off(event, done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const event of ['ready', 'error', 'close'] as const) redis.once(event, done);
  });
}

/**
 * `host:port` of a connection URL, without user or password (`postgresql:///db?host=/run/pg`
 * gives the socket directory). For log lines only.
 */
export function endpointOf(url: string, defaultPort: number): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    return `${host}:${u.port || defaultPort}`;
  } catch {
    return '(address not readable from the URL)';
  }
}

export interface WaitOptions {
  /** Where "waiting for …" and "… answers" go (default: a Nest logger named Dependencies). */
  log?: { warn(message: string): void; log(message: string): void };
  /** Aborting it ends the wait (the promise rejects with an AbortError). */
  signal?: AbortSignal;
  /** The first pause between attempts; it doubles after each failed attempt, up to maxDelayMs. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** An attempt with no answer within this long counts as failed. */
  attemptTimeoutMs?: number;
  /** Told after every attempt: null when it answered, otherwise why not. */
  onAttempt?(dependency: HealthCheck, error: string | null): void;
}

export const DEPENDENCY_BACKOFF = { firstDelayMs: 250, maxDelayMs: 5000, attemptTimeoutMs: 2000 } as const;

/**
 * Resolves once `dependency` answers. While it does not, it is tried again after 250 ms, 500 ms,
 * 1 s, … up to every 5 s. One line says what is awaited (at the first failure, not at every
 * attempt) and one line when it answers.
 */
export async function waitForDependency(dependency: HealthCheck, options: WaitOptions = {}): Promise<void> {
  const firstDelayMs = options.firstDelayMs ?? DEPENDENCY_BACKOFF.firstDelayMs;
  const maxDelayMs = options.maxDelayMs ?? DEPENDENCY_BACKOFF.maxDelayMs;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? DEPENDENCY_BACKOFF.attemptTimeoutMs;
  const log = options.log ?? new Logger('Dependencies');
  const what = describeDependency(dependency);
  let delay = firstDelayMs;
  let waitingSince: number | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    const error = await withTimeout(dependency.check(), attemptTimeoutMs).then(
      () => null,
      (e: unknown) => (e instanceof Error ? e.message : String(e)) || 'no answer',
    );
    options.onAttempt?.(dependency, error);
    if (error === null) {
      if (waitingSince !== null) log.log(`${what} answers, after ${seconds(Date.now() - waitingSince)} s`);
      return;
    }
    if (waitingSince === null) {
      waitingSince = Date.now();
      log.warn(`waiting for ${what} (${error}); trying again with backoff up to every ${seconds(maxDelayMs)} s`);
    }
    await sleep(delay, undefined, { signal: options.signal });
    delay = Math.min(delay * 2, maxDelayMs);
  }
}

/** Resolves once every one of `dependencies` answers (each waited for as waitForDependency does). */
export async function waitForDependencies(dependencies: readonly HealthCheck[], options: WaitOptions = {}): Promise<void> {
  await Promise.all(dependencies.map((d) => waitForDependency(d, options)));
}

/** `PostgreSQL at db:5432`. */
export function describeDependency(dependency: HealthCheck): string {
  return `${dependency.label ?? dependency.name}${dependency.address ? ` at ${dependency.address}` : ''}`;
}

/** `p`, or a rejection saying no answer came within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** 0.3, 5, 12.3 */
function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
