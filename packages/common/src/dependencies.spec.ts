import { Logger } from '@nestjs/common';
import { endpointOf, type HealthCheck, waitForDependency } from './dependencies';
import { Startup } from './startup';

/** A dependency that fails its first `failures` checks, then answers; it records when it was asked. */
function dependency(failures: number, name = 'postgres'): HealthCheck & { asked: number[] } {
  const asked: number[] = [];
  return {
    name,
    label: 'PostgreSQL',
    address: 'db:5432',
    asked,
    async check() {
      asked.push(Date.now());
      if (asked.length <= failures) throw new Error('connect ECONNREFUSED 10.0.0.5:5432');
    },
  };
}

function recorder() {
  const lines: string[] = [];
  return { lines, warn: (m: string) => lines.push(`warn ${m}`), log: (m: string) => lines.push(`log ${m}`) };
}

describe('endpointOf', () => {
  it('is host:port, never the user or the password', () => {
    expect(endpointOf('postgresql://smsgw:s3cret@postgres:6543/smsgw?sslmode=require', 5432)).toBe('postgres:6543');
    expect(endpointOf('redis://:s3cret@redis', 6379)).toBe('redis:6379');
    expect(endpointOf('postgresql:///smsgw?host=/run/postgresql', 5432)).toBe('/run/postgresql:5432');
    expect(endpointOf('not a url', 5432)).not.toContain('not a url');
  });
});

describe('waitForDependency', () => {
  it('retries with doubling pauses up to the cap, and says once what it waits for and once when it answers', async () => {
    const db = dependency(5);
    const log = recorder();
    await waitForDependency(db, { log, firstDelayMs: 20, maxDelayMs: 80 });
    expect(db.asked).toHaveLength(6);
    const pauses = db.asked.slice(1).map((t, i) => t - db.asked[i]!);
    // 20, 40, 80, 80, 80 (timers fire late, never early)
    [20, 40, 80, 80, 80].forEach((ms, i) => expect(pauses[i]).toBeGreaterThanOrEqual(ms - 2));
    expect(pauses[4]).toBeLessThan(80 + 60);
    expect(log.lines).toEqual([
      'warn waiting for PostgreSQL at db:5432 (connect ECONNREFUSED 10.0.0.5:5432); trying again with backoff up to every 0.1 s',
      expect.stringMatching(/^log PostgreSQL at db:5432 answers, after \d+(\.\d)? s$/),
    ]);
  });

  it('says nothing when it answers at once', async () => {
    const log = recorder();
    await waitForDependency(dependency(0), { log });
    expect(log.lines).toEqual([]);
  });

  it('counts a check that hangs as failed', async () => {
    let calls = 0;
    const hanging: HealthCheck = { name: 'redis', check: () => (++calls === 1 ? new Promise<void>(() => undefined) : Promise.resolve()) };
    const log = recorder();
    await waitForDependency(hanging, { log, attemptTimeoutMs: 30, firstDelayMs: 5 });
    expect(log.lines[0]).toBe('warn waiting for redis (no answer within 30 ms); trying again with backoff up to every 5 s');
  });

  it('ends when its signal is aborted', async () => {
    const abort = new AbortController();
    const waiting = waitForDependency(dependency(Infinity), { log: recorder(), signal: abort.signal, firstDelayMs: 10 });
    setTimeout(() => abort.abort(), 30);
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('Startup', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']));

  it('with every dependency answering, runs the work before begin() returns', async () => {
    const startup = new Startup([dependency(0), dependency(0, 'redis')]);
    let worked = false;
    await startup.begin(async () => void (worked = true));
    expect(worked).toBe(true);
    expect(startup.ready).toBe(true);
  });

  it('otherwise returns at once, reports what it waits for, and starts the work once it answers', async () => {
    const startup = new Startup([dependency(2), dependency(0, 'redis')]);
    let worked = false;
    await startup.begin(async () => void (worked = true));
    expect(worked).toBe(false);
    expect(startup.ready).toBe(false);
    expect(startup.report()).toEqual({ status: 'starting', postgres: 'waiting', redis: 'ok' });
    expect(startup.reason()).toBe('starting: waiting for PostgreSQL');
    await startup.started();
    expect(worked).toBe(true);
    expect(startup.ready).toBe(true);
  });

  it('a failing work after the wait rejects started()', async () => {
    const startup = new Startup([dependency(1)]);
    await startup.begin(async () => {
      throw new Error('relation "partner" does not exist');
    });
    await expect(startup.started()).rejects.toThrow('relation "partner" does not exist');
    expect(startup.ready).toBe(false);
  });

  it('stopped while waiting: the work never runs', async () => {
    const startup = new Startup([dependency(Infinity)]);
    let worked = false;
    await startup.begin(async () => void (worked = true));
    await startup.stop();
    await startup.started();
    expect(worked).toBe(false);
    expect(startup.ready).toBe(false);
  });
});
