import type { CallbackState } from '../delivery/callback-log.service';
import type { CallbackPartner } from '../partners/partner-settings.service';

/** An MO waiting to be pushed, as a page of the partner's waiting MO holds it. */
export interface WaitingMo {
  id: string;
  msisdn: string;
  service_number: string;
  text: string;
  segments: number;
  smsc_connection_id: number | null;
  received_at: Date;
  state: CallbackState | null;
  attempts: number | null;
  due_at: Date | null;
  next_attempt_at: Date | null;
  /** mtSent: MO of its line waiting behind it when it was last read. */
  behind: string;
}

/** Where a page of waiting MO starts: after this MO (in arrival order), or at the oldest (null). */
export interface PageCursor {
  receivedAt: Date;
  id: string;
}

/** A push is done with (acknowledged, or parked after its last attempt), or failed and is retried at `retryAt`. */
export type PushResult = { settled: 'acked' | 'parked' } | { retryAt: number };

/** What the pump reads and does, through MoService (PostgreSQL, HTTP, the partner's lock in Redis). */
export interface PumpIo {
  /** The partner's settings now (cached; a change shows within moments). */
  partner(): Promise<CallbackPartner | null>;
  /** The partner's waiting MO after `after`, oldest first, at most `limit`, each with mtSent for its line. */
  page(partner: CallbackPartner, perSubscriber: boolean, after: PageCursor | null, limit: number): Promise<WaitingMo[]>;
  /**
   * One push, its record, and after a failure the partner's MO URL marked down until the retry.
   * `failing` is called as soon as the push is known to have failed (before the record).
   */
  push(partner: CallbackPartner, mo: WaitingMo, connections: number, failing: () => void): Promise<PushResult>;
  extend(): Promise<boolean>;
  /** A job of another instance knocked since the last look. */
  knocked(): Promise<boolean>;
  /** Lets go of the lock unless someone knocked (false: look again). */
  leave(): Promise<boolean>;
  /** Queues the job of an MO again (its job ended on `full` and the pump did not find it). */
  requeue(id: string): void;
}

/**
 * How a pump's run ended. After `empty` and `blocked` the lock is let go; after the others the
 * caller releases it (`lost`: it is not ours any more).
 */
export type PumpEnd =
  /** Nothing waits. */
  | { reason: 'empty' }
  /** What waits is not due before `at` (the oldest such MO: its job should run then). */
  | { reason: 'blocked'; mo: WaitingMo; at: number }
  /** A push failed: the partner's MO wait for its retry at `at`. */
  | { reason: 'failed'; mo: WaitingMo; at: number }
  /** The worker is stopping; `mo` is the oldest MO known to wait (its job should run at once, elsewhere). */
  | { reason: 'stopped'; mo: WaitingMo | null }
  /** The partner's order changed: a pump of the new order takes over. */
  | { reason: 'changed'; partner: CallbackPartner }
  | { reason: 'no-url' }
  | { reason: 'lost' }
  | { reason: 'fault'; error: Error };

/**
 * What a job waiting for its MO learns: `acked` (done with, the job can end); `full` (no room for
 * another waiter: the pump has noted the MO and will push it, the job steps back); or `look` (the
 * job looks at its MO itself: the pump has not pushed it within the wait, did not find it, parked
 * it, or is ending).
 */
export type WaitResult = 'acked' | 'full' | 'look';

export interface PumpOptions {
  /** MO read per page (PostgreSQL round trip). */
  pageSize: number;
  /** MO held in memory at most; no further page is read while as many wait. */
  maxKnown: number;
  /** Jobs that may wait here for their MO at once (each holds one of the instance's MO job slots). */
  maxWaiters: number;
  /** How long a job waits for its MO at most. */
  maxWaitMs: number;
}

interface Waiter {
  id: string;
  resolve(r: WaitResult): void;
  timer: NodeJS.Timeout;
}

/** The lock is extended at least this often while the pump runs (its lease is the request timeout + 5 s). */
const EXTEND_MS = 1_000;
/** With room for more pushes and nothing to push, the pump looks for knocks of other instances this often. */
const KNOCK_POLL_MS = 100;
/**
 * A job usually runs before its MO's row is committed (the connector queues it inside the
 * transaction). While an MO a job asked about has not been read, the pump reads again this
 * often (and does not let go); only a read that starts UNSEEN_GRACE_MS after the job asked and
 * misses the MO gives up on it.
 */
const UNSEEN_POLL_MS = 10;
const UNSEEN_GRACE_MS = 1_000;
/** How long an MO asked about is looked for after the last page only (its commit is a few ms away). */
const UNSEEN_FRESH_MS = 100;
/** A line whose next MO is due within this is pushed now. */
const DUE_SLACK_MS = 50;
/** Jobs may wait for as many MO as the pump can settle in this long (at least its concurrency). */
const WAITERS_HORIZON_MS = 500;
/** MO settled in this run, remembered for the jobs that come after their push. */
const MAX_SETTLED = 50_000;

/** A line: all of the partner's MO (`''`, order per partner) or one subscriber's. */
type LineKey = string;

/**
 * One run of the holder of a partner's MO lock: pushes the partner's waiting MO, read from
 * PostgreSQL a page at a time, in lines (one for the partner with `mo_order = partner`, one per
 * subscriber with `subscriber`). A line has at most one push in progress, its MO go oldest first,
 * and the next goes once the one before is answered and its acknowledgement committed; lines run
 * in parallel up to the partner's callback concurrency (order per partner: one). New pages are read
 * when nothing in memory can go and a page was full, or when a job knocked (a new MO).
 *
 * Jobs of the partner's MO in this instance do not touch Redis or PostgreSQL while the pump runs:
 * they wait here until their MO is acknowledged (`waitFor`), up to a bound, so a job usually ends
 * without a single read of its own.
 */
export class MoPump {
  private readonly perSubscriber: boolean;
  private concurrency: number;
  /** Waiting MO by line, oldest first (not in flight). */
  private readonly lines = new Map<LineKey, WaitingMo[]>();
  /** Lines that can push now, roughly oldest first (a line that pushed goes to the back). */
  private readonly ready = new Set<LineKey>();
  /** Lines whose next MO is not due yet, and when it is. */
  private readonly blocked = new Map<LineKey, number>();
  private readonly inFlight = new Map<LineKey, WaitingMo>();
  /** Every MO in `lines` or in flight. */
  private readonly known = new Map<string, WaitingMo>();
  /** MO done with in this run: the read in progress when it settled, and whether it was acknowledged (or parked). */
  private readonly settled = new Map<string, { seq: number; acked: boolean }>();
  private readonly waiters = new Map<string, Waiter[]>();
  private waiterCount = 0;
  /** MO jobs asked about that no read has found yet, and since when. */
  private readonly unseen = new Map<string, number>();
  /** Of those, the MO whose jobs ended on `full`: requeued if the pump gives up on them or ends first. */
  private readonly noted = new Set<string>();
  private cursor: PageCursor | null = null;
  /** The last page was full: more may wait after the cursor. */
  private more = false;
  /** A job knocked (a new MO may wait anywhere): read again from the oldest. */
  private dirty = true;
  /**
   * A job asked about an MO older (by id) than one already read: committed late, it may have to
   * go before MO in memory, so the next read starts from the oldest at once, and no push starts
   * until it is done.
   */
  private late = false;
  /**
   * A job asked about an MO newer than every one read: the next read goes on after the last page
   * instead of from the oldest (in a burst, every job asks about a new MO).
   */
  private fresh = false;
  private lateRead = false;
  /** The largest MO id read (decimal text). */
  private maxId = '0';
  private readSeq = 0;
  private extendedAt = Date.now();
  /** The page being read, if any: pushes go on meanwhile. */
  private reading: Promise<void> | null = null;
  private halted: PumpEnd | null = null;
  private failure: { mo: WaitingMo; at: number } | null = null;
  /** A push failed and is being recorded: nothing new starts. */
  private failing = false;
  private stopping = false;
  private ended = false;
  private wake: (() => void) | null = null;
  /** Recent time from a push's start to its acknowledgement (ms, moving average); 0 before the first. */
  private cycleMs = 0;

  constructor(
    private partner: CallbackPartner,
    private readonly io: PumpIo,
    private readonly options: PumpOptions,
  ) {
    this.perSubscriber = partner.moOrder === 'subscriber';
    this.concurrency = this.perSubscriber ? partner.concurrency : 1;
  }

  /** Pushes until nothing waits, a push fails, the lock is lost or the worker stops. */
  async run(): Promise<PumpEnd> {
    let end: PumpEnd;
    try {
      end = await this.loop();
    } catch (e) {
      end = { reason: 'fault', error: e instanceof Error ? e : new Error(String(e)) };
    }
    this.halted ??= end;
    // Pushes in flight finish and are recorded, whatever ended the run.
    while (this.inFlight.size > 0 || this.reading) await this.event();
    this.ended = true;
    // MO whose jobs ended on `full` and that no read found yet: their jobs come back.
    for (const id of this.noted) this.io.requeue(id);
    this.noted.clear();
    for (const list of this.waiters.values()) for (const w of list) this.resolveWaiter(w, 'look');
    this.waiters.clear();
    // A failure found while the rest finished outweighs the reason the loop stopped for.
    if (this.failure && end.reason !== 'fault' && end.reason !== 'lost') return { reason: 'failed', ...this.failure };
    return end;
  }

  /** The worker is closing: no new push; those in flight finish. */
  stop(): void {
    this.stopping = true;
    this.signal();
  }

  /** Whether jobs can still count on this run (it pushes new MO). */
  get accepting(): boolean {
    return !this.ended && !this.stopping && !this.failing && this.halted === null && this.failure === null;
  }

  /** A new MO of the partner waits (its row is committed): read again from the oldest before letting go. */
  knock(): void {
    this.dirty = true;
    this.signal();
  }

  /** A job of `id` waits for its push here (see WaitResult), up to `maxWaitMs`. */
  waitFor(id: string): Promise<WaitResult> {
    const s = this.settled.get(id);
    if (s) return Promise.resolve(s.acked ? 'acked' : 'look');
    if (!this.accepting) return Promise.resolve('look');
    // Not read yet, or not committed yet: read again from the oldest until it shows.
    if (!this.known.has(id) && !this.unseen.has(id)) {
      this.unseen.set(id, Date.now());
      if (idBefore(id, this.maxId)) {
        this.late = true;
        this.knock();
      } else {
        this.fresh = true;
        this.signal();
      }
    }
    if (this.waiterCount >= this.waitersAllowed()) {
      if (!this.known.has(id)) this.noted.add(id);
      return Promise.resolve('full');
    }
    return new Promise<WaitResult>((resolve) => {
      const w: Waiter = { id, resolve, timer: setTimeout(() => this.dropWaiter(w, 'look'), this.options.maxWaitMs) };
      const list = this.waiters.get(id);
      if (list) list.push(w);
      else this.waiters.set(id, [w]);
      this.waiterCount++;
    });
  }

  private async loop(): Promise<PumpEnd> {
    for (;;) {
      if (this.halted) return this.halted;
      if (this.failure) return { reason: 'failed', ...this.failure };
      if (this.stopping) return { reason: 'stopped', mo: this.oldest() };
      if (Date.now() - this.extendedAt >= EXTEND_MS) {
        if (!(await this.io.extend())) return { reason: 'lost' };
        this.extendedAt = Date.now();
        continue;
      }
      this.unblock();
      this.fill();
      if (this.halted || this.failure) continue;
      if (this.wantsRead()) this.startRead();
      const free = this.inFlight.size < this.concurrency;
      if (this.inFlight.size === 0 && this.ready.size === 0 && this.unseen.size === 0 && !this.reading) {
        // Nothing to push and nothing more to read: let go, unless a job of another instance knocked.
        if (await this.io.leave()) {
          const next = this.nextBlocked();
          return next ? { reason: 'blocked', ...next } : { reason: 'empty' };
        }
        this.dirty = true;
        continue;
      }
      // Wait for a push to end or a knock; with room to push, read again soon for an MO a job
      // asked about and no read found yet, look for a knock of another instance now and then,
      // and for a blocked line coming due. The lock is extended meanwhile.
      const unseen = free && this.unseen.size > 0;
      let timeout = !free ? EXTEND_MS : unseen ? UNSEEN_POLL_MS : KNOCK_POLL_MS;
      const next = this.nextBlocked();
      if (next) timeout = Math.max(1, Math.min(timeout, next.at - Date.now()));
      if ((await this.event(timeout)) && free && !this.dirty && !this.fresh) {
        if (unseen) this.fresh = true;
        else if (await this.io.knocked()) this.dirty = true;
      }
    }
  }

  /**
   * A page is read ahead, while the lines in memory still have MO to push, once fewer can go than
   * the pump's concurrency (order per partner: one MO left): the next page after the last one
   * while pages come back full, otherwise one from the oldest if a job knocked.
   */
  private wantsRead(): boolean {
    if (this.reading) return false;
    if (this.late) return true;
    const available = this.perSubscriber ? this.ready.size : (this.lines.get('')?.length ?? 0);
    if (available >= Math.max(2, this.concurrency)) return false;
    return this.more ? this.known.size < this.options.maxKnown : this.dirty || this.fresh;
  }

  private startRead(): void {
    this.reading = this.read()
      .then(
        (end) => {
          if (end) this.halted ??= end;
        },
        (e: unknown) => {
          this.halted ??= { reason: 'fault', error: e instanceof Error ? e : new Error(String(e)) };
        },
      )
      .finally(() => {
        this.reading = null;
        this.lateRead = false;
        this.signal();
      });
  }

  /** Reads the next page: after the last one while pages come back full, otherwise from the oldest. */
  private async read(): Promise<PumpEnd | null> {
    const partner = await this.io.partner();
    if (!partner?.moUrl) return { reason: 'no-url' };
    if ((partner.moOrder === 'subscriber') !== this.perSubscriber) {
      // The partner's order changed: once what is in flight is done, a new pump starts from scratch.
      return { reason: 'changed', partner };
    }
    this.partner = partner;
    this.concurrency = this.perSubscriber ? partner.concurrency : 1;
    // Only new MO asked about: after the last page. A knock, a late MO, or nothing read yet: from the oldest.
    const fromOldest = this.cursor === null || this.late || (!this.more && this.dirty);
    this.lateRead = this.late;
    this.late = false;
    this.fresh = false;
    if (fromOldest) this.dirty = false;
    const seq = ++this.readSeq;
    const started = Date.now();
    const limit = this.options.pageSize;
    const rows = await this.io.page(partner, this.perSubscriber, fromOldest ? null : this.cursor, limit);
    this.more = rows.length === limit;
    const last = rows[rows.length - 1];
    if (last) this.cursor = { receivedAt: last.received_at, id: last.id };
    for (const row of rows) this.merge(row, seq);
    for (const [id, since] of this.unseen) {
      if (this.known.has(id) || this.settled.has(id)) {
        this.unseen.delete(id);
        this.noted.delete(id);
      }
      // Older than an MO read after the last page, yet not in it: it sorts before that page (its
      // received_at is earlier), so the next read is from the oldest.
      else if (!fromOldest && idBefore(id, this.maxId)) this.late = true;
      // Still not found after the last page a while after it was asked about: the next read is
      // from the oldest (where it may sort, and where one never found is given up on).
      else if (!fromOldest && since + UNSEEN_FRESH_MS <= started) this.dirty = true;
      else if (fromOldest && !this.more && since + UNSEEN_GRACE_MS <= started) {
        // Everything waiting was read, long enough after the job asked: not committed, or not
        // waiting (parked, acknowledged, another partner's). Its jobs look for themselves.
        this.unseen.delete(id);
        if (this.noted.delete(id)) this.io.requeue(id);
        for (const w of [...(this.waiters.get(id) ?? [])]) this.dropWaiter(w, 'look');
      }
    }
    return null;
  }

  private merge(row: WaitingMo, seq: number): void {
    // Settled while this read was under way: the read saw it before its acknowledgement committed.
    const s = this.settled.get(row.id);
    if (s && s.seq >= seq) return;
    const had = this.known.get(row.id);
    if (had) {
      had.behind = row.behind;
      return;
    }
    const line = this.perSubscriber ? row.msisdn : '';
    this.known.set(row.id, row);
    if (idBefore(this.maxId, row.id)) this.maxId = row.id;
    const queue = this.lines.get(line);
    if (!queue) this.lines.set(line, [row]);
    else {
      // Pages come oldest first; an MO committed late (older than ones already read) takes its place.
      let i = queue.length;
      while (i > 0 && before(row, queue[i - 1]!)) i--;
      queue.splice(i, 0, row);
    }
    if (!this.inFlight.has(line) && !this.blocked.has(line)) this.ready.add(line);
  }

  /** Starts pushes of ready lines while there is room. */
  private fill(): void {
    if (this.stopping || this.failing || (this.reading && this.lateRead)) return;
    const now = Date.now();
    for (const line of this.ready) {
      if (this.inFlight.size >= this.concurrency) return;
      this.ready.delete(line);
      const queue = this.lines.get(line);
      const mo = queue?.[0];
      if (!queue || !mo) continue;
      const due = mo.next_attempt_at?.getTime() ?? 0;
      if (due > now + DUE_SLACK_MS) {
        this.blocked.set(line, due);
        continue;
      }
      queue.shift();
      if (queue.length === 0) this.lines.delete(line);
      this.inFlight.set(line, mo);
      const started = Date.now();
      this.io.push(this.partner, mo, this.concurrency, () => (this.failing = true)).then(
        (r) => this.finished(line, mo, r, started),
        (e: unknown) => this.finished(line, mo, e instanceof Error ? e : new Error(String(e)), started),
      );
    }
  }

  private finished(line: LineKey, mo: WaitingMo, result: PushResult | Error, started: number): void {
    this.inFlight.delete(line);
    const took = Math.max(1, Date.now() - started);
    this.cycleMs = this.cycleMs > 0 ? this.cycleMs * 0.8 + took * 0.2 : took;
    if (result instanceof Error) {
      this.halted ??= { reason: 'fault', error: result };
    } else if ('settled' in result) {
      this.known.delete(mo.id);
      this.settle(mo.id, result.settled === 'acked');
      if (this.lines.has(line) && !this.blocked.has(line)) this.ready.add(line);
    } else if (!this.failure || result.retryAt < this.failure.at) {
      this.failure = { mo, at: result.retryAt };
    }
    this.signal();
  }

  private settle(id: string, acked: boolean): void {
    this.settled.set(id, { seq: this.readSeq, acked });
    if (this.settled.size > MAX_SETTLED) this.settled.delete(this.settled.keys().next().value!);
    const list = this.waiters.get(id);
    if (list) for (const w of [...list]) this.dropWaiter(w, acked ? 'acked' : 'look');
  }

  private dropWaiter(w: Waiter, r: WaitResult): void {
    const list = this.waiters.get(w.id);
    const i = list?.indexOf(w) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.waiters.delete(w.id);
    this.resolveWaiter(w, r);
  }

  private resolveWaiter(w: Waiter, r: WaitResult): void {
    clearTimeout(w.timer);
    this.waiterCount--;
    w.resolve(r);
  }

  /**
   * As many jobs as can expect their MO within WAITERS_HORIZON_MS at the pump's pace (its
   * concurrency over the recent time from push to acknowledgement; at least its concurrency) may
   * wait here, at most maxWaiters: a partner answering slowly must not hold the instance's MO job
   * slots that other partners' jobs need.
   */
  private waitersAllowed(): number {
    if (this.cycleMs <= 0) return this.options.maxWaiters;
    return Math.min(this.options.maxWaiters, Math.max(this.concurrency, Math.ceil((WAITERS_HORIZON_MS * this.concurrency) / this.cycleMs)));
  }

  /** Lines whose next MO came due go back to the ready ones. */
  private unblock(): void {
    if (this.blocked.size === 0) return;
    const now = Date.now();
    for (const [line, at] of this.blocked) {
      if (at > now + DUE_SLACK_MS) continue;
      this.blocked.delete(line);
      this.ready.add(line);
    }
  }

  private nextBlocked(): { mo: WaitingMo; at: number } | null {
    let next: { mo: WaitingMo; at: number } | null = null;
    for (const [line, at] of this.blocked) {
      const mo = this.lines.get(line)?.[0];
      if (mo && (!next || at < next.at)) next = { mo, at };
    }
    return next;
  }

  /** The oldest MO known to wait and not in flight. */
  private oldest(): WaitingMo | null {
    let oldest: WaitingMo | null = null;
    for (const queue of this.lines.values()) {
      const mo = queue[0];
      if (mo && (!oldest || before(mo, oldest))) oldest = mo;
    }
    return oldest;
  }

  /** Waits for a push to end, a knock or a stop (false), or `timeoutMs` (true). */
  private event(timeoutMs = EXTEND_MS): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve(true);
      }, timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve(false);
      };
    });
  }

  private signal(): void {
    this.wake?.();
  }
}

/** Arrival order: received_at, then id. */
function before(a: WaitingMo, b: WaitingMo): boolean {
  const ta = a.received_at.getTime();
  const tb = b.received_at.getTime();
  return ta !== tb ? ta < tb : idBefore(a.id, b.id);
}

/** Ids are decimal bigint text: the shorter is the smaller. */
function idBefore(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}
