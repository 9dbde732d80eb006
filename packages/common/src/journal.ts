import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Counter, Gauge } from 'prom-client';
import { metricsRegistry } from './metrics';

/** One record written by {@link Journal.append}, as {@link Journal.open} hands it back. */
export interface JournalEntry<T> {
  /** Unique across every process that ever wrote the directory: `<process id>.<n>`. */
  id: string;
  data: T;
}

export interface JournalOptions {
  /** A directory of this process alone (the journal locks it). */
  dir: string;
  /** A file is closed and a new one started past this size; a closed file is removed once every entry in it is done. */
  maxFileBytes?: number;
  /**
   * Flush to disk before `append` resolves (default). Off: an append resolves once written (it
   * survives a crash of the process, not of the machine), for journals whose lost entries only
   * make work be done again.
   */
  sync?: boolean;
  /**
   * When appended lines are written: at the end of the task that appended them (`task`, default:
   * a killed process loses only the lines of the task it was killed in), or once per turn of the
   * event loop (`turn`: the appends of every I/O callback of one turn share one write; a kill loses
   * the lines of that turn). `turn` is for journals with one append per network answer, where a
   * write per answer was a share of the process's CPU.
   */
  writeAt?: 'task' | 'turn';
  /** Label of its series in /metrics. */
  name?: string;
  /** A lock whose holder is not this host's live process is taken over once it is this old (ms). */
  staleLockMs?: number;
  /** How long to wait for a lock held by someone else to go stale (default 1.5 × staleLockMs); 0: fail at once. */
  lockWaitMs?: number;
}

/** The directory is locked by a live holder (or by this process). */
export class JournalLockedError extends Error {}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

interface FileState {
  name: string;
  /** Entries written to it and not yet done. */
  open: number;
  closed: boolean;
}

const appended =
  (metricsRegistry.getSingleMetric('smsgw_journal_appended_total') as Counter<'journal'> | undefined) ??
  new Counter({ name: 'smsgw_journal_appended_total', help: 'Entries made durable in a local journal', labelNames: ['journal'], registers: [metricsRegistry] });
const syncs =
  (metricsRegistry.getSingleMetric('smsgw_journal_syncs_total') as Counter<'journal'> | undefined) ??
  new Counter({ name: 'smsgw_journal_syncs_total', help: 'Writes flushed to disk by a local journal (appended / syncs = mean group)', labelNames: ['journal'], registers: [metricsRegistry] });
const pendingGauge =
  (metricsRegistry.getSingleMetric('smsgw_journal_pending') as Gauge<'journal'> | undefined) ??
  new Gauge({ name: 'smsgw_journal_pending', help: 'Entries in a local journal not yet applied', labelNames: ['journal'], registers: [metricsRegistry] });

const FILE = /^journal-(\d{12})\.log$/;
/** Directories locked by this process (its own pid in a lock file is not proof: pids repeat across restarts). */
const lockedHere = new Set<string>();
const LOCK = 'lock';

/**
 * A local append-only journal: what must not be lost while the database is away. `append` resolves
 * once the entry is on disk: written at once (at the end of the current task, so the entries of one
 * task share a write; a line written survives a crash of the process) and then fdatasync'd, the
 * entries written while a flush to disk is in progress sharing the next one (group commit). `done`
 * marks an entry applied; the mark is written the same way and not waited for, so an entry applied
 * just before a crash of the machine comes back once more at the next start: whoever applies
 * entries does so idempotently.
 *
 * Lines of JSON in numbered files: `{"i":id,"d":data}` for an entry, `{"x":[ids]}` for done marks.
 * A torn last line (a crash mid-write) is ignored: its `append` had not resolved. A file is closed
 * past `maxFileBytes` and removed once every entry in it, and in the files before it, is done.
 */
export class Journal<T> {
  private readonly dir: string;
  private readonly maxFileBytes: number;
  private readonly sync: boolean;
  private readonly label: string;
  private readonly staleLockMs: number;
  private readonly lockWaitMs: number;
  private readonly prefix = `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  private counter = 0;
  private fd: number | null = null;
  private fileState: FileState | null = null;
  private fileBytes = 0;
  private fileNumber = 0;
  private readonly files: FileState[] = [];
  /** Where each entry not yet done was written (null: still in the buffer). */
  private readonly where = new Map<string, FileState | null>();
  /** Lines not yet written, and the ids of the entries among them. */
  private buffer: string[] = [];
  private bufferIds: string[] = [];
  /** Appends whose lines are written (or about to be) and wait for the next fdatasync. */
  private waiters: Waiter[] = [];
  private writeScheduled = false;
  private syncing: Promise<void> | null = null;
  private readonly writeAt: 'task' | 'turn';
  private failed: Error | null = null;
  private closed = false;
  private heartbeat: NodeJS.Timeout | null = null;

  private constructor(options: JournalOptions) {
    this.dir = options.dir;
    this.maxFileBytes = options.maxFileBytes ?? 64 * 1024 * 1024;
    this.sync = options.sync ?? true;
    this.writeAt = options.writeAt ?? 'task';
    this.label = options.name ?? path.basename(options.dir);
    this.staleLockMs = options.staleLockMs ?? 15_000;
    this.lockWaitMs = options.lockWaitMs ?? this.staleLockMs * 1.5;
  }

  /**
   * Opens (creating it if need be) and locks the directory, and reads what an earlier process left
   * not done, in the order it was written.
   */
  static async open<T>(options: JournalOptions): Promise<{ journal: Journal<T>; unfinished: Array<JournalEntry<T>> }> {
    const journal = new Journal<T>(options);
    await fsp.mkdir(journal.dir, { recursive: true });
    await journal.lock();
    try {
      const unfinished = await journal.recover();
      journal.startFile();
      return { journal, unfinished };
    } catch (e) {
      await journal.unlock();
      throw e;
    }
  }

  /** Entries appended (or recovered) and not yet done. */
  get pending(): number {
    return this.where.size;
  }

  /** Resolves once the entry is on disk; returns its id for `done`. */
  append(data: T): Promise<string> {
    if (this.closed) return Promise.reject(new Error('journal closed'));
    if (this.failed) return Promise.reject(this.failed);
    const id = `${this.prefix}.${(++this.counter).toString(36)}`;
    this.buffer.push(`${JSON.stringify({ i: id, d: data })}\n`);
    this.bufferIds.push(id);
    this.where.set(id, null);
    pendingGauge.set({ journal: this.label }, this.where.size);
    return new Promise<string>((resolve, reject) => {
      this.waiters.push({ resolve: () => resolve(id), reject });
      this.schedule();
    });
  }

  /** Marks entries applied. Never waits for the disk (see the class comment). */
  done(ids: string[]): void {
    const known = ids.filter((id) => this.where.has(id));
    if (known.length === 0) return;
    for (const id of known) {
      const state = this.where.get(id);
      this.where.delete(id);
      if (state) state.open--;
    }
    pendingGauge.set({ journal: this.label }, this.where.size);
    if (!this.closed) {
      this.buffer.push(`${JSON.stringify({ x: known })}\n`);
      this.schedule();
    }
    void this.collect();
  }

  /** Writes and flushes what is buffered, closes the file and releases the lock. Entries not done stay for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.write();
    while (this.syncing || (this.waiters.length > 0 && !this.failed)) {
      if (this.syncing) await this.syncing;
      else this.startSync();
    }
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    if (this.fileState) this.fileState.closed = true;
    await this.collect();
    await this.unlock();
    // Nothing left: no directory left behind either (a test's, or a database's no longer used).
    if (this.files.length === 0) await fsp.rmdir(this.dir).catch(() => undefined);
  }

  /**
   * Writes at the end of the current task (or turn, see `writeAt`): the lines of its appends and
   * marks go in one write, and a killed process loses only the lines of the task (turn) it was
   * killed in.
   */
  private schedule(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    const run = () => {
      this.writeScheduled = false;
      this.write();
      this.startSync();
    };
    if (this.writeAt === 'turn') setImmediate(run);
    else queueMicrotask(run);
  }

  /** Writes the buffer to the current file (synchronously: microseconds into the page cache, and in order). */
  private write(): void {
    if (this.buffer.length === 0 || this.fd === null || this.failed) return;
    const lines = this.buffer;
    const ids = this.bufferIds;
    this.buffer = [];
    this.bufferIds = [];
    try {
      const state = this.fileState!;
      for (const id of ids) {
        if (!this.where.has(id)) continue; // done before it was written: its mark follows it
        this.where.set(id, state);
        state.open++;
      }
      const bytes = Buffer.from(lines.join(''));
      for (let off = 0; off < bytes.length; ) off += fs.writeSync(this.fd, bytes, off);
      this.fileBytes += bytes.length;
      if (!this.syncing && this.fileBytes >= this.maxFileBytes) this.rotate();
    } catch (e) {
      this.fail(e as Error);
    }
  }

  /**
   * Flushes what is written to disk for the appends waiting, unless a flush is in progress (those
   * written meanwhile share the next one). Done marks alone need no flush: a mark lost with a crash
   * of the machine only makes its entry come back once more, which its applier takes (idempotent).
   */
  private startSync(): void {
    if (this.syncing || this.waiters.length === 0 || this.fd === null || this.failed) return;
    if (!this.sync) return this.settle();
    const waiters = this.waiters;
    this.waiters = [];
    const fd = this.fd;
    this.syncing = new Promise<void>((resolve) => {
      fs.fdatasync(fd, (e) => {
        this.syncing = null;
        if (e) {
          this.waiters = [...waiters, ...this.waiters];
          this.fail(e);
        } else {
          syncs.inc({ journal: this.label });
          appended.inc({ journal: this.label }, waiters.length);
          for (const w of waiters) w.resolve();
          if (this.fileBytes >= this.maxFileBytes) this.rotate();
          this.startSync();
        }
        resolve();
      });
    });
  }

  /** Without flushes to disk: a written append is done. */
  private settle(): void {
    const waiters = this.waiters;
    this.waiters = [];
    appended.inc({ journal: this.label }, waiters.length);
    for (const w of waiters) w.resolve();
  }

  /**
   * The disk refused: nothing more can be promised durable. Every caller gets the error (the SMSC
   * is asked to resend) and so does every later append.
   */
  private fail(e: Error): void {
    this.failed = new Error(`journal ${this.dir}: ${e.message}`);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(this.failed);
  }

  /** Closes the current file (flushed to disk first for the appends still waiting) and starts the next one; never while a flush is in progress. */
  private rotate(): void {
    try {
      if (this.sync && this.waiters.length > 0) {
        fs.fdatasyncSync(this.fd!);
        syncs.inc({ journal: this.label });
        this.settle();
      }
      fs.closeSync(this.fd!);
      this.fd = null;
      this.fileState!.closed = true;
      this.startFile();
    } catch (e) {
      this.fail(e as Error);
    }
    void this.collect();
  }

  private startFile(): void {
    this.fileNumber++;
    const name = `journal-${String(this.fileNumber).padStart(12, '0')}.log`;
    this.fd = fs.openSync(path.join(this.dir, name), 'a');
    this.fileBytes = 0;
    this.fileState = { name, open: 0, closed: false };
    this.files.push(this.fileState);
    // The new file's name must survive a crash before its first flush.
    if (this.sync) syncDir(this.dir);
  }

  /**
   * Removes the oldest files while every entry in them is done. Oldest first only: a file's done
   * marks may be for entries of older files, and must outlive them.
   */
  private async collect(): Promise<void> {
    while (this.files.length > 0 && this.files[0]!.closed && this.files[0]!.open === 0) {
      const state = this.files.shift()!;
      await fsp.unlink(path.join(this.dir, state.name)).catch(() => undefined);
    }
  }

  /** Reads every file in order; entries without a done mark come back, their files kept until they are done. */
  private async recover(): Promise<Array<JournalEntry<T>>> {
    const names = (await fsp.readdir(this.dir)).filter((n) => FILE.test(n)).sort();
    const entries = new Map<string, { entry: JournalEntry<T>; state: FileState }>();
    for (const name of names) {
      const state: FileState = { name, open: 0, closed: true };
      this.files.push(state);
      const text = await fsp.readFile(path.join(this.dir, name), 'utf8');
      for (const line of text.split('\n')) {
        if (line === '') continue;
        let record: { i?: unknown; d?: unknown; x?: unknown };
        try {
          record = JSON.parse(line) as typeof record;
        } catch {
          continue; // torn by a crash mid-write: that append never resolved
        }
        if (typeof record.i === 'string') entries.set(record.i, { entry: { id: record.i, data: record.d as T }, state });
        else if (Array.isArray(record.x)) for (const id of record.x) entries.delete(String(id));
      }
      this.fileNumber = Math.max(this.fileNumber, Number(FILE.exec(name)![1]));
    }
    const unfinished: Array<JournalEntry<T>> = [];
    for (const { entry, state } of entries.values()) {
      state.open++;
      this.where.set(entry.id, state);
      unfinished.push(entry);
    }
    await this.collect();
    pendingGauge.set({ journal: this.label }, this.where.size);
    return unfinished;
  }

  /**
   * One process per directory: a second one would replay entries the first is applying. The lock
   * file names its holder and is refreshed every third of `staleLockMs`. It is taken over at once
   * when its holder is a dead process of this host, or names this very pid without being this
   * process's (a container restarted: the same pid 1 again); otherwise once it has not been
   * refreshed for `staleLockMs` (a holder on another host, a pid reused). A lock still refreshed
   * after one and a half times that is a live holder: the open fails.
   */
  private async lock(): Promise<void> {
    const file = path.join(this.dir, LOCK);
    const me = JSON.stringify({ pid: process.pid, host: os.hostname() });
    const giveUpAt = Date.now() + this.lockWaitMs;
    for (;;) {
      if (lockedHere.has(path.resolve(this.dir))) throw new JournalLockedError(`journal ${this.dir} is in use by this process; give each instance a directory of its own`);
      try {
        await fsp.writeFile(file, me, { flag: 'wx' });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = await readLock(file);
      if (holder && !(await this.isStale(file, holder))) {
        if (Date.now() >= giveUpAt) throw new JournalLockedError(`journal ${this.dir} is in use by process ${holder.pid} on ${holder.host}; give each instance a directory of its own`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, this.staleLockMs / 4)));
        continue;
      }
      await fsp.unlink(file).catch(() => undefined);
    }
    lockedHere.add(path.resolve(this.dir));
    this.heartbeat = setInterval(() => {
      const now = new Date();
      void fsp.utimes(file, now, now).catch(() => undefined);
    }, Math.max(250, Math.floor(this.staleLockMs / 3)));
    this.heartbeat.unref();
  }

  private async isStale(file: string, holder: { pid: number; host: string }): Promise<boolean> {
    if (holder.host === os.hostname() && (holder.pid === process.pid || !processAlive(holder.pid))) return true;
    const stat = await fsp.stat(file).catch(() => null);
    return !stat || Date.now() - stat.mtimeMs > this.staleLockMs;
  }

  private async unlock(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    lockedHere.delete(path.resolve(this.dir));
    const file = path.join(this.dir, LOCK);
    const holder = await readLock(file);
    if (holder && holder.pid === process.pid && holder.host === os.hostname()) await fsp.unlink(file).catch(() => undefined);
  }
}

async function readLock(file: string): Promise<{ pid: number; host: string } | null> {
  try {
    const v = JSON.parse(await fsp.readFile(file, 'utf8')) as { pid?: unknown; host?: unknown };
    return typeof v.pid === 'number' && typeof v.host === 'string' ? { pid: v.pid, host: v.host } : null;
  } catch {
    return null; // being written, or garbage: stale
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Opens the first journal of `base/0`, `base/1`, … that no live process holds: instances of one
 * service on one machine (or one volume) each take a slot, and a restarted instance takes over the
 * slot its dead predecessor left, with what it left in it.
 */
export async function openJournalSlot<T>(base: string, options: Omit<JournalOptions, 'dir' | 'lockWaitMs'> & { slots?: number }): Promise<{ journal: Journal<T>; unfinished: Array<JournalEntry<T>>; slot: number }> {
  const slots = options.slots ?? 64;
  for (let slot = 0; slot < slots; slot++) {
    try {
      const opened = await Journal.open<T>({ ...options, dir: path.join(base, String(slot)), lockWaitMs: 0 });
      return { ...opened, slot };
    } catch (e) {
      if (!(e instanceof JournalLockedError)) throw e;
    }
  }
  throw new JournalLockedError(`every journal slot under ${base} (${slots}) is in use`);
}
