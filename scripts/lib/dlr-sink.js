// The delivery-report sink of the HTTP benches (bench:kannel, bench:scale): a child process (forked
// from startSink) that answers every request 200 and counts reports per path by the id they carry:
// `id` (what bench:kannel puts in Kannel's dlr-url) or `partnerMsgId` (what the platform echoes).
// A path /dlr/<tag> counts under <tag>. Ids not starting with the run's tag are counted as foreign.
const { fork } = require('node:child_process');
const http = require('node:http');

if (require.main === module) runSink();

function runSink() {
  /** tag -> { n, ids: Map<id, count>, duplicates, noId, foreign, types, first, last } */
  const tags = new Map();
  const run = process.env.BENCH_RUN_TAG;
  const server = http.createServer((req, res) => {
    const now = Date.now();
    const q = req.url.indexOf('?');
    const p = q < 0 ? req.url : req.url.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1));
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('OK');
    const tag = p.startsWith('/dlr/') ? p.slice(5) : p;
    let t = tags.get(tag);
    if (!t) tags.set(tag, (t = { n: 0, ids: new Map(), firstAt: new Map(), perSecond: new Map(), dupSample: [], duplicates: 0, noId: 0, foreign: 0, types: {}, first: now, last: now }));
    t.n++;
    t.last = now;
    // Kannel: the id the bench put in the dlr-url; the platform: the partnerMsgId it echoes.
    const id = params.get('id') ?? params.get('partnerMsgId');
    const type = params.get('t') ?? params.get('status') ?? '?';
    t.types[type] = (t.types[type] || 0) + 1;
    if (!id) t.noId++;
    else {
      if (!id.startsWith(run)) t.foreign++;
      const c = t.ids.get(id) || 0;
      if (c > 0) {
        t.duplicates++;
        if (t.dupSample.length < 20) t.dupSample.push({ id, at: now, first: t.firstAt.get(id) });
      } else {
        t.firstAt.set(id, now);
        const sec = Math.floor(now / 1000);
        t.perSecond.set(sec, (t.perSecond.get(sec) || 0) + 1);
      }
      t.ids.set(id, c + 1);
    }
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.listen(Number(process.env.BENCH_SINK_PORT || 0), '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
  process.on('message', (m) => {
    const t = tags.get(m.tag);
    if (m.type === 'stats') {
      process.send({
        type: 'stats',
        seq: m.seq,
        stats: t
          ? { n: t.n, unique: t.ids.size, duplicates: t.duplicates, dupSample: t.dupSample, noId: t.noId, foreign: t.foreign, types: t.types, first: t.first, last: t.last }
          : null,
      });
    } else if (m.type === 'perSecond') {
      process.send({ type: 'perSecond', seq: m.seq, perSecond: t ? [...t.perSecond] : [] });
    } else if (m.type === 'ids') {
      process.send({ type: 'ids', seq: m.seq, ids: t ? [...t.ids.keys()] : [] });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

const EMPTY = { n: 0, unique: 0, duplicates: 0, noId: 0, foreign: 0, types: {}, first: null, last: null };

/**
 * Forks the sink; resolves once it listens on 127.0.0.1 (port BENCH_SINK_PORT, else any). `ask`
 * sends it a question (stats, perSecond, ids) about a tag; `stats(tag)` is the counts so far.
 */
async function startSink(runTag, env = process.env) {
  const child = fork(__filename, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...env, BENCH_RUN_TAG: runTag } });
  const port = (await new Promise((resolve) => child.once('message', resolve))).port;
  let seq = 0;
  const ask = (type, tag) =>
    new Promise((resolve) => {
      const mine = ++seq;
      const on = (m) => {
        if (m.seq === mine) {
          child.off('message', on);
          resolve(m);
        }
      };
      child.on('message', on);
      child.send({ type, tag, seq: mine });
    });
  return {
    child,
    pid: child.pid,
    port,
    ask,
    stats: async (tag) => (await ask('stats', tag)).stats || EMPTY,
    close: () => {
      if (child.connected) child.disconnect();
    },
  };
}

module.exports = { startSink };
