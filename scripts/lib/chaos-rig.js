// The moving parts of test:chaos (scripts/chaos.js) besides the private PostgreSQL and Redis:
//   Supervised   a built service as a child process, restarted when it exits, as a container
//                restart policy would (about 1 s later; longer while it keeps exiting at once)
//   TcpProxy     the SMPP link between the connector and the simulator, which can refuse
//                connections (the SMSC down) or reset every open one (the link cut)
//   PartnerSink  the partner's status and MO URLs: records every delivery report and MO by id,
//                and can be taken down (connections refused); PartnerSinkProcess runs one in a
//                child process of its own, so that it answers pushes at once while the harness is
//                busy killing services (a push answered late is, rightly, pushed again)
//   SendLoad     a paced /send loop over keep-alive connections, keeping the id of every accepted message
//   MoLoad       MO injected through the simulator's control API at a steady rate
const { fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { root } = require('./services');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Supervised {
  /**
   * `main`: the built entry point relative to the repository; `env`: the whole environment of the
   * child; `logFile`: where its output goes (appended, each start marked).
   */
  constructor({ name, main, nodeArgs = [], env, healthPort, logFile }) {
    Object.assign(this, { name, main, nodeArgs, env, healthPort, logFile });
    this.child = null;
    this.stopping = false;
    this.starts = 0;
    this.crashes = 0;
    /** When each kill9 was sent (ms since the epoch). */
    this.kills = [];
    this.restartTimer = null;
    this.delayMs = 500;
    this.killed = false;
  }

  start() {
    this.restartTimer = null;
    if (this.stopping) return;
    this.starts++;
    const startedAt = Date.now();
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `--- start ${this.starts} at ${new Date(startedAt).toISOString()}\n`);
    const child = spawn(process.execPath, [...this.nodeArgs, path.join(root, this.main)], { cwd: root, env: this.env, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.child = child;
    child.on('exit', (code, signal) => {
      fs.appendFileSync(this.logFile, `--- exited (${signal ?? code}) at ${new Date().toISOString()}\n`);
      if (this.child !== child || this.stopping) return;
      this.crashes++;
      // Killed, or after running a while: restarted 1 s later. One that keeps exiting at start
      // (its database down, say) waits twice as long each time, up to 8 s.
      const ranLong = Date.now() - startedAt > 10_000;
      this.delayMs = ranLong || this.killed ? 1000 : Math.min(this.delayMs * 2, 8000);
      this.killed = false;
      this.restartTimer = setTimeout(() => this.start(), this.delayMs);
    });
  }

  get alive() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill -9; the supervisor restarts it. */
  kill9() {
    if (this.alive) {
      this.killed = true;
      this.kills.push(Date.now());
      this.child.kill('SIGKILL');
    }
  }

  /** Resolves when /health answers 200 (or rejects after `ms`). */
  async healthy(ms = 60_000) {
    const until = Date.now() + ms;
    let last = 'no answer';
    while (Date.now() < until) {
      try {
        const res = await fetch(`http://127.0.0.1:${this.healthPort}/health`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
        last = `${res.status}`;
      } catch (e) {
        last = e.cause?.code || e.message;
      }
      await sleep(250);
    }
    throw new Error(`${this.name} not healthy on port ${this.healthPort} within ${ms / 1000} s (last: ${last}); see ${this.logFile}`);
  }

  /** No more restarts; SIGTERM, SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000) {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  killSync() {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.alive) this.child.kill('SIGKILL');
  }
}

class TcpProxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.pairs = new Set();
    this.server = null;
    this.port = null;
    this.cuts = 0;
  }

  async listen(port) {
    this.port = port;
    this.server = net.createServer((client) => {
      const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
      const pair = { client, upstream };
      this.pairs.add(pair);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      for (const s of [client, upstream]) {
        s.setNoDelay(true);
        s.on('error', end);
        s.on('close', end);
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
  }

  /** Resets every open connection at once (both sides), mid-window; new connections are taken. */
  cut() {
    this.cuts++;
    for (const { client, upstream } of [...this.pairs]) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.pairs.clear();
  }

  /** The SMSC is down: open connections reset, new ones refused. */
  async down() {
    const closed = new Promise((r) => this.server.close(r));
    this.cut();
    await closed;
  }

  async up() {
    await this.listen(this.port);
  }

  close() {
    this.cut();
    this.server?.close();
  }
}

class PartnerSink {
  constructor() {
    /** message id -> Map(status -> reports received) */
    this.reports = new Map();
    /** message id -> when each of its reports arrived (ms since the epoch): clues for duplicates */
    this.arrivals = new Map();
    /** MO text (the harness's token) -> Map(platform MO id -> pushes received) */
    this.mo = new Map();
    /** MO text -> when each push of it arrived */
    this.moArrivals = new Map();
    this.requests = 0;
    this.server = null;
    this.port = null;
  }

  handle(req, res) {
    this.requests++;
    const url = new URL(req.url, 'http://sink');
    const q = url.searchParams;
    if (url.pathname === '/dlr') {
      const id = q.get('transactionId');
      const status = Number(q.get('status'));
      if (id) {
        const byStatus = this.reports.get(id) ?? new Map();
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
        this.reports.set(id, byStatus);
        const at = this.arrivals.get(id) ?? [];
        at.push(Date.now());
        this.arrivals.set(id, at);
      }
    } else if (url.pathname === '/mo') {
      const text = q.get('message');
      const id = q.get('messageId');
      if (text && id) {
        const byId = this.mo.get(text) ?? new Map();
        byId.set(id, (byId.get(id) ?? 0) + 1);
        this.mo.set(text, byId);
        const at = this.moArrivals.get(text) ?? [];
        at.push(Date.now());
        this.moArrivals.set(text, at);
      }
    }
    // 204: acknowledged; an MO answered without a body gets no reply message.
    res.writeHead(204).end();
  }

  async listen(port = 0) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
  }

  /** The partner's server is down: connections refused. */
  async down() {
    const closed = new Promise((r) => this.server.close(r));
    this.server.closeAllConnections();
    await closed;
  }

  async up() {
    await this.listen(this.port);
  }

  close() {
    if (!this.server) return;
    this.server.closeAllConnections();
    this.server.close();
  }

  clear() {
    this.reports.clear();
    this.arrivals.clear();
    this.mo.clear();
    this.moArrivals.clear();
    this.requests = 0;
  }
}

/**
 * A PartnerSink in a child process of its own (this file run as a script), driven over IPC. The
 * harness's own event loop is busy at the moments that matter (kill -9 of every service, a burst
 * of pushes just before it): a sink inside it would read those pushes only afterwards, and a push
 * the platform never saw answered is one it must make again. `refresh()` copies the sink's
 * records into `reports`, `arrivals`, `mo` and `moArrivals`, shaped as PartnerSink's.
 */
class PartnerSinkProcess {
  constructor() {
    this.reports = new Map();
    this.arrivals = new Map();
    this.mo = new Map();
    this.moArrivals = new Map();
    this.port = null;
    this.listening = false;
    this.child = null;
    this.nextId = 1;
    this.waiting = new Map();
  }

  call(cmd, arg) {
    if (!this.child) return Promise.reject(new Error('the partner sink is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, cmd, arg });
    });
  }

  async listen(port = 0) {
    this.child = fork(__filename, ['partner-sink'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error) w.reject(new Error(`partner sink: ${m.error}`));
      else w.resolve(m.result);
    });
    this.child.on('exit', (code, signal) => {
      this.child = null;
      this.listening = false;
      for (const w of this.waiting.values()) w.reject(new Error(`the partner sink exited (${signal ?? code})`));
      this.waiting.clear();
    });
    this.port = await this.call('listen', port);
    this.listening = true;
  }

  async down() {
    await this.call('down');
    this.listening = false;
  }

  async up() {
    await this.call('listen', this.port);
    this.listening = true;
  }

  /** Forgets every record (the copies here are replaced at the next `refresh`). */
  async clear() {
    await this.call('clear');
  }

  async refresh() {
    const { reports, arrivals, mo, moArrivals } = await this.call('records');
    this.reports = new Map(reports.map(([id, byStatus]) => [id, new Map(byStatus)]));
    this.arrivals = new Map(arrivals);
    this.mo = new Map(mo.map(([text, byId]) => [text, new Map(byId)]));
    this.moArrivals = new Map(moArrivals);
  }

  close() {
    this.child?.kill('SIGKILL');
    this.child = null;
    this.listening = false;
  }
}

/** The child side of PartnerSinkProcess. */
function runPartnerSink() {
  const sink = new PartnerSink();
  const commands = {
    listen: async (port) => {
      await sink.listen(port);
      return sink.port;
    },
    down: () => sink.down(),
    clear: () => sink.clear(),
    records: () => ({
      reports: [...sink.reports].map(([id, byStatus]) => [id, [...byStatus]]),
      arrivals: [...sink.arrivals],
      mo: [...sink.mo].map(([text, byId]) => [text, [...byId]]),
      moArrivals: [...sink.moArrivals],
    }),
  };
  process.on('message', async ({ id, cmd, arg }) => {
    try {
      process.send({ id, result: await commands[cmd](arg) });
    } catch (e) {
      process.send({ id, error: e.message });
    }
  });
  // The harness gone (even killed): so is its sink.
  process.on('disconnect', () => process.exit(0));
}

/** Calls `fire(i)` `rate` times a second (i = 0, 1, …) from start() until stop(). */
class Pacer {
  constructor(rate, fire) {
    this.rate = rate;
    this.fire = fire;
    this.fired = 0;
    this.timer = null;
  }

  start() {
    const t0 = Date.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - t0) * this.rate) / 1000);
      while (this.fired < due) this.fire(this.fired++);
    }, 10);
  }

  stop() {
    clearInterval(this.timer);
  }
}

class SendLoad {
  /** `tag` goes into every text; `maxInFlight` bounds the requests open at once (others are skipped). */
  constructor({ port, rate, tag, maxInFlight = 2000, timeoutMs = 30_000 }) {
    Object.assign(this, { port, rate, tag, maxInFlight, timeoutMs });
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    /** accepted message id -> time of the answer */
    this.accepted = new Map();
    /** what the other answers were: `HTTP 500 Internal error…`, `ECONNREFUSED`, … -> count */
    this.refused = new Map();
    this.skipped = 0;
    this.inFlight = 0;
    this.pacer = new Pacer(rate, (i) => this.sendOne(i));
  }

  get refusedTotal() {
    let n = 0;
    for (const v of this.refused.values()) n += v;
    return n;
  }

  sendOne(i) {
    if (this.inFlight >= this.maxInFlight) {
      this.skipped++;
      return;
    }
    this.inFlight++;
    const msisdn = `7903${String(i % 1_000_000).padStart(6, '0')}1`;
    const text = encodeURIComponent(`chaos ${this.tag} ${i}`);
    let settled = false;
    const settle = (accepted, why) => {
      if (settled) return;
      settled = true;
      this.inFlight--;
      if (accepted) this.accepted.set(accepted, Date.now());
      else this.refused.set(why, (this.refused.get(why) ?? 0) + 1);
    };
    const req = http.get(
      { host: '127.0.0.1', port: this.port, agent: this.agent, timeout: this.timeoutMs, path: `/send?serviceId=demo&pass=demo-pass&clientId=${msisdn}&message=${text}` },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          const m = /^OK\n(\d+)$/.exec(body);
          if (res.statusCode === 200 && m) settle(m[1]);
          else settle(null, `HTTP ${res.statusCode} ${body.split('\n')[0].slice(0, 60)}`);
        });
        res.on('error', () => settle(null, 'answer cut off'));
        res.on('close', () => settle(null, 'answer cut off'));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => settle(null, e.code || e.message));
  }

  start() {
    this.pacer.start();
  }

  /** Stops sending and waits for the answers still out (at most the request timeout). */
  async stop() {
    this.pacer.stop();
    const until = Date.now() + this.timeoutMs + 2000;
    while (this.inFlight > 0 && Date.now() < until) await sleep(50);
    this.agent.destroy();
  }
}

class MoLoad {
  constructor({ simHttpPort, rate, tag, serviceNumber }) {
    Object.assign(this, { simHttpPort, rate, tag, serviceNumber });
    /** texts of the MO the simulator took (answered 200) */
    this.injected = new Set();
    /** 409 (no receiver bound: the SMSC link is down) and other failures -> count */
    this.notInjected = new Map();
    this.inFlight = 0;
    this.pacer = new Pacer(rate, (i) => void this.injectOne(i));
  }

  async injectOne(i) {
    this.inFlight++;
    const text = `chaos-mo ${this.tag} ${i}`;
    const from = `7903777${String(i % 10_000).padStart(4, '0')}`;
    const miss = (why) => this.notInjected.set(why, (this.notInjected.get(why) ?? 0) + 1);
    try {
      const res = await fetch(`http://127.0.0.1:${this.simHttpPort}/mo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from, to: this.serviceNumber, text }),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.ok) this.injected.add(text);
      else miss(res.status === 409 ? 'no receiver bound' : `HTTP ${res.status}`);
    } catch (e) {
      miss(e.cause?.code || e.name);
    } finally {
      this.inFlight--;
    }
  }

  start() {
    this.pacer.start();
  }

  async stop() {
    this.pacer.stop();
    const until = Date.now() + 12_000;
    while (this.inFlight > 0 && Date.now() < until) await sleep(50);
  }
}

module.exports = { Supervised, TcpProxy, PartnerSink, PartnerSinkProcess, SendLoad, MoLoad, sleep };

if (require.main === module && process.argv[2] === 'partner-sink') runPartnerSink();
