import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Journal } from './journal';

async function tempDir(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'smsgw-journal-test-'));
}

const logFiles = async (dir: string): Promise<string[]> => (await fsp.readdir(dir)).filter((n) => n.endsWith('.log')).sort();

describe('Journal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('gives back, in order, what was appended and not done, after the process that wrote it is gone', async () => {
    const { journal, unfinished } = await Journal.open<{ n: number; text: string }>({ dir });
    expect(unfinished).toEqual([]);
    const ids = await Promise.all([1, 2, 3, 4].map((n) => journal.append({ n, text: n === 3 ? 'Привет \u0000 😀' : `t${n}` })));
    expect(new Set(ids).size).toBe(4);
    journal.done([ids[0]!, ids[2]!]);
    await journal.close();

    const again = await Journal.open<{ n: number; text: string }>({ dir });
    expect(again.unfinished.map((e) => e.data.n)).toEqual([2, 4]);
    expect(again.unfinished.map((e) => e.id)).toEqual([ids[1], ids[3]]);
    expect(again.journal.pending).toBe(2);
    again.journal.done(again.unfinished.map((e) => e.id));
    await again.journal.close();
    // Everything done: nothing is left behind.
    await expect(fsp.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('groups the appends of one turn into one flush, and every append resolves only once flushed', async () => {
    const { journal } = await Journal.open<number>({ dir });
    const ids = await Promise.all(Array.from({ length: 500 }, (_, i) => journal.append(i)));
    const text = await fsp.readFile(path.join(dir, (await logFiles(dir))[0]!), 'utf8');
    expect(text.trim().split('\n')).toHaveLength(500);
    journal.done(ids);
    await journal.close();
  });

  it('has an entry on file by the end of the task that appended it: a process killed before the flush to disk loses nothing', async () => {
    const compiled = path.resolve(__dirname, '..', 'dist', 'journal.js');
    await expect(fsp.stat(compiled)).resolves.toBeTruthy(); // built by `turbo run build`
    // The kill is queued right behind the journal's write, long before its fdatasync returns.
    const child = spawn(process.execPath, [
      '-e',
      `const { Journal } = require(${JSON.stringify(compiled)});
       Journal.open({ dir: ${JSON.stringify(dir)} }).then(({ journal }) => {
         journal.append('acknowledged');
         queueMicrotask(() => process.kill(process.pid, 'SIGKILL'));
       });`,
    ]);
    const [, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (code, sig) => r([code, sig])));
    expect(signal).toBe('SIGKILL');
    const again = await Journal.open<string>({ dir });
    expect(again.unfinished.map((e) => e.data)).toEqual(['acknowledged']);
    await again.journal.close();
  });

  it('with writeAt "turn", writes the appends of several I/O callbacks of one turn in one write, before the next turn', async () => {
    const compiled = path.resolve(__dirname, '..', 'dist', 'journal.js');
    // Appends from three separate tasks of one turn (setImmediate callbacks of one check phase);
    // fs.writeSync is counted, and the process is killed in the turn after.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
         const { Journal } = require(${JSON.stringify(compiled)});
         Journal.open({ dir: ${JSON.stringify(dir)}, sync: false, writeAt: 'turn' }).then(({ journal }) => {
           const write = fs.writeSync;
           let writes = 0;
           fs.writeSync = (...args) => { writes++; return write(...args); };
           for (const n of [1, 2, 3]) setImmediate(() => journal.append('answer ' + n));
           setTimeout(() => { process.stdout.write(String(writes)); process.kill(process.pid, 'SIGKILL'); }, 20);
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await new Promise((r) => child.once('exit', r));
    expect(out).toBe('1');
    const again = await Journal.open<string>({ dir });
    expect(again.unfinished.map((e) => e.data)).toEqual(['answer 1', 'answer 2', 'answer 3']);
    await again.journal.close();
  });

  it('ignores a line torn by a crash mid-write', async () => {
    const { journal } = await Journal.open<string>({ dir });
    await journal.append('kept');
    await journal.close();
    const [file] = await logFiles(dir);
    await fsp.appendFile(path.join(dir, file!), '{"i":"x.1","d":"tor');
    const again = await Journal.open<string>({ dir });
    expect(again.unfinished.map((e) => e.data)).toEqual(['kept']);
    await again.journal.close();
  });

  it('starts a new file past maxFileBytes and removes old files only once they and every older file are done', async () => {
    const { journal } = await Journal.open<string>({ dir, maxFileBytes: 200 });
    const a = await journal.append('a'.repeat(250)); // file 1, full
    const b = await journal.append('b'.repeat(250)); // file 2, full
    await journal.append('c'); // file 3
    expect(await logFiles(dir)).toHaveLength(3);
    journal.done([b]);
    await journal.append('d');
    // File 2 is done, but file 1 is not: file 2 holds marks that must outlive file 1's entries.
    expect((await logFiles(dir)).length).toBeGreaterThanOrEqual(3);
    journal.done([a]);
    await journal.append('e');
    await new Promise((r) => setTimeout(r, 50));
    const left = await logFiles(dir);
    expect(left).not.toContain('journal-000000000001.log');
    expect(left).not.toContain('journal-000000000002.log');
    await journal.close();
    const again = await Journal.open<string>({ dir });
    expect(again.unfinished.map((e) => e.data)).toEqual(['c', 'd', 'e']);
    await again.journal.close();
  });

  it('refuses a directory held by this process or by a live one, and takes over one whose holder died', async () => {
    const { journal } = await Journal.open<string>({ dir });
    await expect(Journal.open<string>({ dir })).rejects.toThrow(/in use by this process/);
    await journal.close();

    // A process that takes the lock, keeps it fresh, and is killed without releasing it.
    await fsp.mkdir(dir, { recursive: true });
    const lock = JSON.stringify(path.join(dir, 'lock'));
    const child = spawn(process.execPath, [
      '-e',
      `const fs = require('node:fs'); fs.writeFileSync(${lock}, JSON.stringify({ pid: process.pid, host: require('node:os').hostname() })); console.log('locked'); setInterval(() => fs.utimesSync(${lock}, new Date(), new Date()), 100)`,
    ]);
    await new Promise((r) => child.stdout.once('data', r));
    await expect(Journal.open<string>({ dir, staleLockMs: 1000 })).rejects.toThrow(new RegExp(`in use by process ${child.pid}`));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const started = Date.now();
    const taken = await Journal.open<string>({ dir, staleLockMs: 60_000 });
    expect(Date.now() - started).toBeLessThan(1000);
    await taken.journal.close();
  });

  it('takes over at once a lock naming its own pid that it does not hold (a restarted container is pid 1 again)', async () => {
    await fsp.writeFile(path.join(dir, 'lock'), JSON.stringify({ pid: process.pid, host: os.hostname() }));
    const started = Date.now();
    const { journal } = await Journal.open<string>({ dir, staleLockMs: 60_000 });
    expect(Date.now() - started).toBeLessThan(1000);
    await journal.close();
  });

  it('takes over a lock of another host once it is no longer refreshed', async () => {
    const lock = path.join(dir, 'lock');
    await fsp.writeFile(lock, JSON.stringify({ pid: 1, host: 'elsewhere' }));
    // Fresh, but nobody refreshes it: waited for until it is stale, then taken.
    let started = Date.now();
    const first = await Journal.open<string>({ dir, staleLockMs: 400 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    await first.journal.close();

    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(lock, JSON.stringify({ pid: 1, host: 'elsewhere' }));
    const old = new Date(Date.now() - 120_000);
    await fsp.utimes(lock, old, old);
    started = Date.now();
    const second = await Journal.open<string>({ dir, staleLockMs: 60_000 });
    expect(Date.now() - started).toBeLessThan(1000);
    await second.journal.close();
  });
});
