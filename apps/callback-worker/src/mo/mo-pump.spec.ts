import type { CallbackPartner } from '../partners/partner-settings.service';
import { MoPump, type PageCursor, type PumpIo, type PushResult, type WaitingMo } from './mo-pump';

// The pump's lines against an in-memory table of waiting MO (the PumpIo the service implements
// with PostgreSQL, HTTP and Redis); the same rules end to end: test/mo-pump.e2e-spec.ts.

const partner = (moOrder: 'partner' | 'subscriber', concurrency: number): CallbackPartner => ({
  id: 1,
  login: 'p',
  blocked: false,
  statusUrl: null,
  moUrl: { ok: true, smpp: false, base: 'http://partner/mo', redacted: 'http://partner/mo' },
  concurrency,
  paramNames: {},
  signingSecret: null,
  intermediateReports: false,
  moOrder,
  testMode: false,
  testEndsAt: null,
  validityMinutes: 60,
});

let nextId = 1;
const mo = (msisdn: string, at: number): WaitingMo => ({
  id: String(nextId++),
  msisdn,
  service_number: '4545',
  text: `${msisdn}@${at}`,
  segments: 1,
  smsc_connection_id: null,
  received_at: new Date(at),
  state: null,
  attempts: null,
  due_at: null,
  next_attempt_at: null,
  behind: '0',
});

/** A table of waiting MO and a partner that answers each push after `answerMs`, as `answer` says. */
function world(p: CallbackPartner, answerMs = 5, answer: (m: WaitingMo) => PushResult = () => ({ settled: 'acked' })) {
  const table: WaitingMo[] = [];
  const pushes: { mo: WaitingMo; at: number; end?: number }[] = [];
  const requeued: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const io: PumpIo = {
    partner: async () => p,
    page: async (_p, _perSubscriber, after: PageCursor | null, limit) =>
      table
        .filter((m) => !after || m.received_at.getTime() > after.receivedAt.getTime() || (m.received_at.getTime() === after.receivedAt.getTime() && Number(m.id) > Number(after.id)))
        .sort((a, b) => a.received_at.getTime() - b.received_at.getTime() || Number(a.id) - Number(b.id))
        .slice(0, limit)
        .map((m) => ({ ...m })),
    push: async (_p, m, _connections, failing) => {
      const push: { mo: WaitingMo; at: number; end?: number } = { mo: m, at: Date.now() };
      pushes.push(push);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, answerMs));
      inFlight--;
      push.end = Date.now();
      const result = answer(m);
      if ('retryAt' in result) failing();
      else table.splice(table.findIndex((x) => x.id === m.id), 1);
      return result;
    },
    extend: async () => true,
    knocked: async () => false,
    leave: async () => true,
    requeue: (id) => requeued.push(id),
  };
  return { table, pushes, io, requeued, maxInFlight: () => maxInFlight };
}

const options = { pageSize: 4, maxKnown: 100, maxWaiters: 2, maxWaitMs: 2_000 };

describe('MoPump', () => {
  it('order per partner: one push at a time, oldest first across subscribers', async () => {
    const w = world(partner('partner', 1));
    w.table.push(mo('a', 3), mo('b', 1), mo('a', 2), mo('c', 4), mo('b', 5), mo('c', 6));
    const end = await new MoPump(partner('partner', 1), w.io, options).run();
    expect(end).toEqual({ reason: 'empty' });
    expect(w.pushes.map((x) => x.mo.text)).toEqual(['b@1', 'a@2', 'a@3', 'c@4', 'b@5', 'c@6']);
    expect(w.maxInFlight()).toBe(1);
  });

  it('order per subscriber: subscribers in parallel up to the concurrency, each one\'s next MO after its previous one', async () => {
    const w = world(partner('subscriber', 3), 10);
    for (let k = 0; k < 3; k++) for (const s of ['a', 'b', 'c', 'd', 'e']) w.table.push(mo(s, k * 10 + s.charCodeAt(0)));
    expect(await new MoPump(partner('subscriber', 3), w.io, options).run()).toEqual({ reason: 'empty' });
    expect(w.maxInFlight()).toBe(3);
    for (const s of ['a', 'b', 'c', 'd', 'e']) {
      const mine = w.pushes.filter((x) => x.mo.msisdn === s);
      expect(mine.map((x) => x.mo.received_at.getTime())).toEqual([0, 10, 20].map((d) => d + s.charCodeAt(0)));
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.at).toBeGreaterThanOrEqual(mine[i - 1]!.end!);
    }
  });

  it('an MO committed late, older than those read, goes before them in its line', async () => {
    const w = world(partner('partner', 1), 10);
    // Its id is older than theirs (taken at its insert), its commit comes after they were read.
    const late = mo('b', 15);
    w.table.push(mo('a', 10), mo('a', 20), mo('a', 30));
    const pump = new MoPump(partner('partner', 1), w.io, { ...options, pageSize: 100 });
    const run = pump.run();
    setTimeout(() => {
      w.table.push(late);
      void pump.waitFor(late.id);
    }, 5);
    await run;
    expect(w.pushes.map((x) => x.mo.text)).toEqual(['a@10', 'b@15', 'a@20', 'a@30']);
  });

  it('after a failure starts nothing new, lets those in flight finish, and ends with the failed MO and its retry', async () => {
    const retryAt = Date.now() + 60_000;
    const w = world(partner('subscriber', 2), 10, (m) => (m.text === 'a@1' ? { retryAt } : { settled: 'acked' }));
    w.table.push(mo('a', 1), mo('b', 2), mo('c', 3), mo('a', 4));
    const end = await new MoPump(partner('subscriber', 2), w.io, options).run();
    expect(end).toMatchObject({ reason: 'failed', at: retryAt, mo: { text: 'a@1' } });
    expect(w.pushes.map((x) => x.mo.text)).toEqual(['a@1', 'b@2']);
  });

  it('tells a waiting job when its MO is acknowledged, a job beyond the waiters to step back, and one whose MO it never finds to look for itself', async () => {
    const w = world(partner('partner', 1), 30);
    const [first, second, third] = [mo('a', 1), mo('a', 2), mo('a', 3)];
    w.table.push(first!, second!, third!);
    const pump = new MoPump(partner('partner', 1), w.io, { ...options, maxWaiters: 2 });
    const run = pump.run();
    const waits = [pump.waitFor(first!.id), pump.waitFor(second!.id), pump.waitFor(third!.id)];
    expect(await waits[2]).toBe('full');
    expect(await waits[0]).toBe('acked');
    expect(await waits[1]).toBe('acked');
    // Not in the table (not committed, or not this partner's): the pump reads again for a second, then gives up on it.
    const started = Date.now();
    expect(await pump.waitFor('999999')).toBe('look');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await run;
    expect(await pump.waitFor(third!.id)).toBe('acked');
    expect(w.requeued).toEqual([]); // the job that stepped back had its MO pushed: nothing to queue again
  });

  it('queues again the job of an MO it was told about beyond its waiters and never found', async () => {
    const w = world(partner('subscriber', 1), 30);
    const [first, second] = [mo('a', 1), mo('b', 2)];
    w.table.push(first!, second!);
    const pump = new MoPump(partner('subscriber', 1), w.io, { ...options, maxWaiters: 2 });
    const run = pump.run();
    const waits = [pump.waitFor(first!.id), pump.waitFor(second!.id)];
    // Its job ended on `full`; its row never shows (a transaction rolled back, or a late commit).
    expect(await pump.waitFor('888888')).toBe('full');
    expect(await Promise.all(waits)).toEqual(['acked', 'acked']);
    await run;
    expect(w.requeued).toEqual(['888888']);
  });
});
