import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { HEALTH_CHECKS, type HealthCheck, waitForDependencies } from './dependencies';

/**
 * A service's start, for every app alike: its HTTP server (/health, /metrics) listens at once,
 * its work (workers, SMSC binds, periodic tasks, partner traffic) begins once PostgreSQL and Redis
 * answer. A service started before them waits, says once what it waits for, answers /health with
 * 503 meanwhile, and does not exit.
 *
 * Each app's lifecycle calls `begin(work)` from its onApplicationBootstrap and `stop()` first
 * thing on shutdown; main.ts awaits `started()` (a start that fails exits the process, as before).
 */
@Injectable()
export class Startup implements OnModuleDestroy {
  private readonly log = new Logger('Startup');
  private phase: 'idle' | 'waiting' | 'starting' | 'ready' = 'idle';
  /** Why each dependency did not answer at its last attempt; absent once it answered. */
  private readonly notAnswering = new Map<string, string>();
  private readonly abort = new AbortController();
  private background: Promise<void> = Promise.resolve();

  constructor(@Inject(HEALTH_CHECKS) private readonly dependencies: HealthCheck[]) {}

  /** Every dependency answered and the work has started: the service takes traffic. */
  get ready(): boolean {
    return this.phase === 'ready';
  }

  /**
   * Runs `work` once every dependency answers. If they all answer at the first attempt, `work`
   * runs before this returns, so a start goes as it would without this (and a failing `work`
   * fails the start). Otherwise this returns at once, leaving the app to listen, and the waiting
   * (with backoff, see waitForDependency) and then `work` go on in the background.
   */
  async begin(work: () => Promise<void>): Promise<void> {
    if (this.phase !== 'idle') throw new Error('Startup.begin called twice');
    this.phase = 'waiting';
    const since = Date.now();
    const attempted = new Set<string>();
    let firstRound!: () => void;
    const firstRoundDone = new Promise<void>((resolve) => (firstRound = resolve));
    const answered = waitForDependencies(this.dependencies, {
      log: this.log,
      signal: this.abort.signal,
      onAttempt: (dependency, error) => {
        if (error === null) this.notAnswering.delete(dependency.name);
        else this.notAnswering.set(dependency.name, error);
        attempted.add(dependency.name);
        if (attempted.size === this.dependencies.length) firstRound();
      },
    });
    await Promise.race([firstRoundDone, answered]);
    if (this.notAnswering.size === 0) {
      await answered;
      await this.run(work);
      return;
    }
    this.background = answered.then(
      async () => {
        await this.run(work);
        this.log.log(`started, after waiting ${Math.round((Date.now() - since) / 100) / 10} s`);
      },
      (e: unknown) => {
        if (this.abort.signal.aborted) return; // stopped while waiting: nothing was started
        throw e;
      },
    );
    // Whoever starts the app awaits started(); an in-process start that nobody awaits must not
    // turn a failure into an unhandled rejection.
    this.background.catch(() => undefined);
  }

  /** Settles when a start that had to wait is done: rejects if `work` failed (main.ts exits 1). */
  started(): Promise<void> {
    return this.background;
  }

  /** Stops waiting, if it still is (nothing is started then), or waits for a start under way. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.background.catch(() => undefined);
  }

  onModuleDestroy(): Promise<void> {
    return this.stop();
  }

  /**
   * /health's answer while not ready: `starting`, and each dependency `ok` or `waiting` (why it
   * does not answer is in the log, not in the answer).
   */
  report(): Record<string, string> {
    const out: Record<string, string> = { status: 'starting' };
    for (const d of this.dependencies) out[d.name] = this.notAnswering.has(d.name) ? 'waiting' : 'ok';
    return out;
  }

  /** What a request refused meanwhile is told (no addresses: partners read it). */
  reason(): string {
    const waiting = this.dependencies.filter((d) => this.notAnswering.has(d.name)).map((d) => d.label ?? d.name);
    return waiting.length > 0 ? `starting: waiting for ${waiting.join(' and ')}` : 'starting';
  }

  private async run(work: () => Promise<void>): Promise<void> {
    this.phase = 'starting';
    await work();
    this.phase = 'ready';
  }
}

/** Routes answered while a service starts: its probes. */
const PROBE_ROUTES: ReadonlySet<string> = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

interface EarlyReply {
  code(statusCode: number): EarlyReply;
  header(name: string, value: string): EarlyReply;
  send(body: unknown): unknown;
}

/**
 * A Fastify onRequest hook: until `startup` is ready, every request but /health and /metrics is
 * answered `503 Service Unavailable` (JSON, with Retry-After), as Fastify answers while an
 * instance shuts down: nothing is accepted before the service can store it. Afterwards it costs
 * one property read per request.
 */
export function refuseUntilStarted(startup: Startup) {
  return (request: { routeOptions: { url?: string } }, reply: EarlyReply, done: () => void): void => {
    if (startup.ready || PROBE_ROUTES.has(request.routeOptions.url ?? '')) return done();
    void reply.code(503).header('Retry-After', '5').send({ statusCode: 503, error: 'Service Unavailable', message: startup.reason() });
  };
}
