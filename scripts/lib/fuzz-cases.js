// The fuzz generator: seeded requests for the ingress (/send, /status, /cancel) and the portal's
// JSON API, as plain data. `nextCase(rng, ctx)` returns one case:
//   { target: 'ingress' | 'portal', family, via: 'http' | 'raw', ... }
// via 'http': method, path (bytes 0x21-0xff only), headers, body (Buffer | string), session
//   ('operator' | 'partner' | 'spare' | null: which logged-in session's cookie and CSRF token to send;
//   'bogus': a made-up cookie).
// via 'raw': chunks to write on a fresh TCP connection (Buffers or {delay} pauses), and how to end:
//   'read' (wait for the answer), 'close' (disconnect mid-request), with a time bound.
// Used by scripts/fuzz.js (`npm run test:fuzz`) and the short run in scripts/test/fuzz.e2e-spec.js.

/** mulberry32: small, fast and seeded; every choice of the run comes from it. */
function createRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    /** [weight, value] pairs. */
    weighted(pairs) {
      let total = 0;
      for (const [w] of pairs) total += w;
      let r = next() * total;
      for (const [w, v] of pairs) if ((r -= w) < 0) return v;
      return pairs[pairs.length - 1][1];
    },
    bytes(n) {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
    /** A length biased to small, sometimes large: 0..max. */
    len(max) {
      const r = next();
      if (r < 0.6) return Math.floor(next() * Math.min(max, 16));
      if (r < 0.9) return Math.floor(next() * Math.min(max, 300));
      return Math.floor(next() * max);
    },
  };
  return rng;
}

const BAD_ESCAPES = ['%', '%G1', '%C3%28', '%ED%A0%80', '%F4%90%80%80', '%C0%AF', '%FF', '%%', '%2', '%E2%82', '%00', '%0', '%zz', '%u0041', '%25%', '%F0%9F%98'];
const ODD_STRINGS = ['', ' ', '0', '-1', '1e309', 'NaN', 'null', 'undefined', 'true', '[]', '{}', '9999999999999999999999', '1.5', '0x10', '+1', '007', '%2B7903', '\u202e', '😀', 'Привет', '<x>', '"\'', '../..', '%0D%0A', 'a%26b%3Dc', '%3B', ',,,', '1,2,3'];

/** encodeURIComponent that takes any string: a lone surrogate (from a mutation) becomes U+FFFD instead of throwing. */
const enc = (s) => encodeURIComponent(String(s).toWellFormed());

/** Percent-encodes every byte of a Buffer. */
const pctAll = (buf) => [...buf].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** One query-string value, already in its on-the-wire form. */
function wireValue(rng, valid) {
  return rng.weighted([
    [30, () => (valid !== undefined ? enc(valid) : enc(rng.pick(ODD_STRINGS)))],
    [10, () => enc(rng.pick(ODD_STRINGS))],
    [10, () => pctAll(rng.bytes(rng.len(40)))],
    [8, () => rng.pick(BAD_ESCAPES)],
    [6, () => `${enc(valid ?? 'x')}${rng.pick(BAD_ESCAPES)}`],
    [6, () => rng.bytes(rng.len(30)).toString('latin1').replace(/[^\x21-\xff]/g, '_').replace(/[&#=]/g, '.')],
    [4, () => enc(String.fromCodePoint(...Array.from({ length: rng.len(30) }, () => rng.int(1, 0x10ffff)).map((c) => (c >= 0xd800 && c <= 0xdfff ? 0x41 : c))))],
    [3, () => 'a'.repeat(rng.int(10_000, 15_000))],
    [2, () => 'b'.repeat(rng.int(16_000, 17_000))],
    [1, () => 'c'.repeat(rng.pick([100_000, 1_000_000]))],
    [4, () => String(rng.int(-1e6, 1e12))],
    [3, () => ''],
  ])();
}

/** Byte-level mutations of a valid string: flip, insert, delete, duplicate a run. */
function mutateBytes(rng, input, printableOnly = false) {
  const b = [...Buffer.from(input, 'latin1')];
  const n = rng.int(1, 4);
  const byte = () => (printableOnly ? rng.int(0x21, 0xff) : rng.int(0, 255));
  for (let i = 0; i < n && b.length; i++) {
    const at = rng.int(0, b.length - 1);
    const op = rng.int(0, 4);
    if (op === 0) b[at] ^= 1 << rng.int(0, 7);
    else if (op === 1) b.splice(at, 0, byte());
    else if (op === 2) b.splice(at, rng.int(1, 5));
    else if (op === 3) b.splice(at, 0, ...b.slice(at, at + rng.int(1, 20)));
    else b[at] = rng.pick([0x25, 0x26, 0x3d, 0x2b, 0x3f, 0x23, 0x2f]); // % & = + ? # /
  }
  let out = Buffer.from(b).toString('latin1');
  if (printableOnly) out = out.replace(/[^\x21-\xff]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return out;
}

const SEND_PARAMS = ['serviceId', 'pass', 'clientId', 'message', 'source', 'ptag', 'partnerMsgId', 'send_at', 'sending_time', 'time_zone', 'validity', 'flash', 'smsPriority', 'output'];

function validSendValues(rng, ctx) {
  const v = {
    serviceId: ctx.partner.login,
    pass: ctx.partner.password,
    clientId: rng.pick(['79036550550', '+79036550551', '89036550552', '7 903 655-05-53', `7903${rng.int(1000000, 9999999)}`, ctx.blacklisted, '84951234567']),
    message: rng.pick(['Hello', 'Your code is 4711', 'Привет, мир', '😀 emoji', 'x'.repeat(rng.int(1, 400)), 'Line1\nLine2']),
  };
  if (rng.chance(0.3)) v.partnerMsgId = rng.chance(0.98) ? `m${rng.int(1, 3000)}` : rng.pick(['m\u0000', '\ud800', 'é'.repeat(50), ' ']);
  if (rng.chance(0.2)) v.output = rng.pick(['xml', 'json', 'text', 'XML']);
  if (rng.chance(0.1)) v.source = rng.pick(['FUZZ', 'OTHER', '']);
  if (rng.chance(0.1)) v.ptag = rng.pick(['tag-1', 'bad tag', 'x'.repeat(51)]);
  if (rng.chance(0.08)) v.send_at = rng.pick(['2030-01-01 10:00:00', new Date(Date.now() + 3_600_000).toISOString(), '2026-02-30 10:00:00', '']);
  if (rng.chance(0.08)) v.sending_time = rng.pick(['10_20', '25_26', '']);
  if (rng.chance(0.05)) v.time_zone = rng.pick(['+03:00', '-12:00', '+99:99']);
  if (rng.chance(0.05)) v.validity = rng.pick(['1', '2880', '0', '99999']);
  if (rng.chance(0.05)) v.flash = rng.pick(['0', '1', '2']);
  if (rng.chance(0.05)) v.smsPriority = rng.pick(['0', '1', '2', '3']);
  return v;
}

const qs = (pairs) => pairs.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join('&');
const encPairs = (obj) => Object.entries(obj).map(([k, v]) => [enc(k), enc(v)]);

/** Known parameters with fuzzed values, some missing, some twice, some unknown. */
function fuzzedPairs(rng, names, valid) {
  const pairs = [];
  for (const name of names) {
    if (rng.chance(0.25)) continue; // missing
    const value = rng.chance(0.5) ? enc(valid[name] ?? '') : wireValue(rng, valid[name]);
    pairs.push([rng.chance(0.03) ? wireValue(rng, name).slice(0, 40) : name, value]);
    if (rng.chance(0.1)) pairs.push([name, wireValue(rng, valid[name])]); // duplicated
  }
  if (rng.chance(0.2)) pairs.push([wireValue(rng).slice(0, 50) || 'x', wireValue(rng)]);
  if (rng.chance(0.1)) pairs.push([rng.pick(names), null]); // name without '='
  for (let i = pairs.length - 1; i > 0 && rng.chance(0.3); i--) {
    const j = rng.int(0, i);
    [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
  }
  return pairs;
}

// ---------------------------------------------------------------- ingress over HTTP

function ingressCase(rng, ctx) {
  const family = rng.weighted([
    [14, 'send valid'],
    [18, 'send mutated'],
    [22, 'send fuzzed params'],
    [10, 'send form POST'],
    [12, 'status'],
    [8, 'cancel'],
    [4, 'bad credentials'],
    [4, 'random path'],
    [3, 'huge query'],
  ]);
  const valid = validSendValues(rng, ctx);
  const get = (path) => ({ target: 'ingress', family, via: 'http', method: 'GET', path, headers: {} });
  switch (family) {
    case 'send valid':
      return get(`/send?${qs(encPairs(valid))}`);
    case 'send mutated':
      return get(mutateBytes(rng, `/send?${qs(encPairs(valid))}`, true));
    case 'send fuzzed params':
      return get(`/send?${qs(fuzzedPairs(rng, SEND_PARAMS, valid))}`);
    case 'send form POST': {
      const pairs = rng.chance(0.5) ? encPairs(valid) : fuzzedPairs(rng, SEND_PARAMS, valid);
      let body = qs(pairs);
      const shape = rng.weighted([
        [50, 'form'],
        [10, 'form mutated'],
        [8, 'form 64 KiB edge'],
        [5, 'form over limit'],
        [8, 'json'],
        [6, 'xml'],
        [6, 'no type'],
        [7, 'random bytes'],
      ]);
      let type = 'application/x-www-form-urlencoded';
      if (shape === 'form mutated') body = mutateBytes(rng, body);
      else if (shape === 'form 64 KiB edge') body = `${body}&pad=${'p'.repeat(Math.max(0, 64 * 1024 - body.length - 5 + rng.int(-3, 3)))}`;
      else if (shape === 'form over limit') body = `${body}&pad=${'q'.repeat(rng.int(70_000, 2_000_000))}`;
      else if (shape === 'json') (type = 'application/json'), (body = rng.chance(0.5) ? JSON.stringify(valid) : mutateBytes(rng, JSON.stringify(valid)));
      else if (shape === 'xml') type = 'text/xml';
      else if (shape === 'no type') type = null;
      else if (shape === 'random bytes') body = rng.bytes(rng.len(5000));
      const query = rng.chance(0.3) ? `?${qs(fuzzedPairs(rng, SEND_PARAMS, valid))}` : '';
      return { target: 'ingress', family, via: 'http', method: rng.chance(0.95) ? 'POST' : rng.pick(['PUT', 'PATCH', 'DELETE']), path: `/send${query}`, headers: type ? { 'content-type': type } : {}, body: Buffer.from(body, 'latin1') };
    }
    case 'status': {
      const ids = () => {
        const n = rng.weighted([[60, 1], [30, rng.int(2, 20)], [8, rng.int(100, 2000)], [2, rng.int(10_000, 30_000)]]);
        return Array.from({ length: n }, () => (ctx.okIds.length && rng.chance(0.5) ? rng.pick(ctx.okIds) : rng.pick(['0', '-1', '1', '18446744073709551616', '9223372036854775807', '1e3', 'abc', '', ' ', String(rng.int(1, 1e9))]))).join(rng.chance(0.9) ? ',' : rng.pick([';', ', ', ',,', '%2C']));
      };
      const v = { serviceId: ctx.partner.login, pass: ctx.partner.password, transactionId: ids(), output: rng.pick(['', 'xml', 'json']) };
      if (rng.chance(0.2)) (v.partnerMsgId = `m${rng.int(1, 3000)}`), rng.chance(0.5) && delete v.transactionId;
      const pairs = rng.chance(0.5) ? encPairs(v) : fuzzedPairs(rng, ['serviceId', 'pass', 'transactionId', 'partnerMsgId', 'output'], v);
      return get(`/status?${qs(pairs)}`);
    }
    case 'cancel': {
      const v = { serviceId: ctx.partner.login, pass: ctx.partner.password, transactionId: ctx.okIds.length && rng.chance(0.6) ? rng.pick(ctx.okIds) : String(rng.int(-5, 1e9)), output: rng.pick(['', 'xml', 'json']) };
      const pairs = rng.chance(0.5) ? encPairs(v) : fuzzedPairs(rng, ['serviceId', 'pass', 'transactionId', 'output'], v);
      return { ...get(`/cancel?${qs(pairs)}`), method: rng.chance(0.8) ? 'GET' : 'POST' };
    }
    case 'bad credentials': {
      const v = { ...valid, serviceId: rng.pick([ctx.partner.login, 'nobody', '', ctx.partner.login.toUpperCase()]), pass: rng.pick(['wrong', '', ctx.partner.password.slice(1), `${ctx.partner.password}x`]) };
      return get(`/${rng.pick(['send', 'status', 'cancel'])}?${qs(encPairs(v))}`);
    }
    case 'random path':
      return { ...get(randomPath(rng, ['/send', '/status', '/cancel', '/health', '/metrics', '/'])), method: rng.pick(['GET', 'GET', 'POST', 'HEAD', 'OPTIONS', 'DELETE', 'PUT', 'FOO']) };
    default: {
      // 'huge query': one parameter of 10k..1M characters, URLs near and over the 16 KiB header limit.
      const name = rng.pick(['message', 'clientId', 'partnerMsgId', 'serviceId', 'x']);
      const size = rng.weighted([[30, rng.int(10_000, 16_000)], [30, rng.int(16_000, 17_000)], [25, rng.int(17_000, 100_000)], [15, rng.int(100_000, 1_000_000)]]);
      const fill = rng.pick(['a', '%D0%96', '%', '%C3']);
      return get(`/send?${qs(encPairs({ ...valid, [name]: '' }))}`.replace(`${name}=`, `${name}=${fill.repeat(Math.ceil(size / fill.length))}`));
    }
  }
}

/** A path built from pieces, random bytes and percent escapes (bytes 0x21-0xff only). */
function randomPath(rng, known) {
  const piece = () =>
    rng.weighted([
      [30, () => rng.pick(known).slice(1)],
      [20, () => rng.bytes(rng.len(20)).toString('latin1').replace(/[^\x21-\xff]/g, '-')],
      [15, () => pctAll(rng.bytes(rng.len(10)))],
      [10, () => rng.pick(BAD_ESCAPES)],
      [10, () => rng.pick(['..', '.', '', '%2e%2e', '%2F', '~', 'index.html', 'assets', '*'])],
      [5, () => 'z'.repeat(rng.int(100, 5000))],
    ])();
  let p = '';
  for (let i = rng.int(1, 4); i > 0; i--) p += `/${piece()}`;
  if (rng.chance(0.3)) p += `?${wireValue(rng)}=${wireValue(rng)}`;
  return p;
}

// ---------------------------------------------------------------- portal over HTTP

/** Ids other than the fuzz's own partner and session users, which must survive the run. */
function someId(rng, ctx, kind) {
  const decoys = kind === 'user' ? ctx.decoyUserIds : kind === 'smsc' ? ctx.decoySmscIds : ctx.decoyPartnerIds;
  const v = rng.weighted([
    [50, () => String(rng.pick(decoys))],
    [20, () => rng.pick(['0', '-1', '1.5', 'abc', '9999999999', '2147483648', '1e3', '%00', '%ED%A0%80', '%', '00001', '%201', 'null'])],
    [20, () => String(rng.int(1, 200))],
    [10, () => pctAll(rng.bytes(rng.len(12)))],
  ])();
  return ctx.protectedIds.has(v) ? String(rng.pick(decoys)) : v;
}

const GET_ROUTES = [
  ['partner', '/api/auth/me'],
  ['partner', '/api/stats', ['from', 'to', 'partnerId']],
  ['partner', '/api/messages', ['id', 'partnerMsgId', 'msisdn', 'sender', 'status', 'test', 'from', 'to', 'cursor', 'limit', 'partnerId']],
  ['partner', '/api/messages/export.csv', ['msisdn', 'status', 'from', 'to', 'partnerId', 'sender']],
  ['partner', '/api/messages/:message', ['partnerId']],
  ['partner', '/api/mo', ['msisdn', 'serviceNumber', 'from', 'to', 'cursor', 'limit', 'partnerId']],
  ['partner', '/api/callbacks', ['state', 'partnerId']],
  ['partner', '/api/account/settings', ['partnerId']],
  ['operator', '/api/operator/partners'],
  ['operator', '/api/operator/partners/settings-schema'],
  ['operator', '/api/operator/partners/:partner'],
  ['operator', '/api/operator/users'],
  ['operator', '/api/operator/smsc'],
  ['operator', '/api/operator/smsc/settings-schema'],
  ['operator', '/api/operator/smsc/live'],
  ['operator', '/api/operator/audit', ['entity', 'actor', 'action', 'cursor', 'limit']],
  ['operator', '/api/operator/queues'],
];

const QUERY_VALUES = {
  from: () => '2026-01-01',
  to: () => new Date().toISOString().slice(0, 10),
  status: () => '2',
  limit: () => '50',
  test: () => 'true',
  state: () => 'parked',
  msisdn: () => '79036550550',
  cursor: () => 'MjAyNi0wMS0wMVQwMDowMDowMC4wMDBafDE',
};

function portalGet(rng, ctx, family) {
  const [, route, params = []] = rng.pick(GET_ROUTES);
  const path = route
    .replace(':message', () => (ctx.okIds.length && rng.chance(0.3) ? rng.pick(ctx.okIds) : someId(rng, ctx, 'message')))
    .replace(':partner', () => someId(rng, ctx, 'partner'));
  const valid = {};
  for (const p of params) valid[p] = p === 'partnerId' ? String(rng.pick([ctx.partner.id, ...ctx.decoyPartnerIds])) : (QUERY_VALUES[p]?.() ?? 'x');
  const pairs = params.length && rng.chance(0.85) ? fuzzedPairs(rng, params, valid) : [];
  return { path: pairs.length ? `${path}?${qs(pairs)}` : path, route };
}

/** A JSON value of a random type. */
function jsonValue(rng, depth = 0) {
  return rng.weighted([
    [20, () => rng.pick(ODD_STRINGS)],
    [10, () => rng.int(-1e9, 1e9)],
    [5, () => rng.pick([0, -0, 1.5, 1e308, -1e308, 2147483648, Number.MAX_SAFE_INTEGER + 2])],
    [8, () => rng.chance(0.5)],
    [8, () => null],
    [6, () => (depth < 3 ? Array.from({ length: rng.len(5) }, () => jsonValue(rng, depth + 1)) : [])],
    [6, () => (depth < 3 ? Object.fromEntries(Array.from({ length: rng.len(4) }, () => [rng.pick(['a', 'login', '__proto__', 'constructor', '']), jsonValue(rng, depth + 1)])) : {})],
    [8, () => String.fromCharCode(...Array.from({ length: rng.len(40) }, () => rng.int(0, 0xffff)))],
    [4, () => rng.pick(['\u0000', 'a\u0000b', '\ud800', '\udfff x', '\u202e\u0000'])],
    [3, () => 'w'.repeat(rng.int(1000, 300_000))],
  ])();
}

function mutateJson(rng, obj) {
  const o = { ...obj };
  const keys = Object.keys(o);
  for (let i = rng.int(1, 3); i > 0; i--) {
    const op = rng.int(0, 3);
    const key = keys.length ? rng.pick(keys) : 'x';
    if (op === 0) o[key] = jsonValue(rng);
    else if (op === 1) delete o[key];
    else if (op === 2) o[rng.pick(['extra', '__proto__', 'constructor', 'prototype', key.toUpperCase()])] = jsonValue(rng);
    else o[key] = typeof o[key] === 'string' ? o[key] + rng.pick(['\u0000', '😀', ' ', 'x'.repeat(300)]) : jsonValue(rng);
  }
  return o;
}

function portalWrite(rng, ctx) {
  const pid = () => someId(rng, ctx, 'partner');
  const routes = [
    ['POST', '/api/operator/partners', () => ({ login: `fz${rng.int(1, 1e9)}`, settings: { allowedIps: ['10.0.0.1'], senders: ['FZ'], defaultSender: 'FZ', rateLimit: 5 } })],
    ['PATCH', `/api/operator/partners/${pid()}`, () => ({ rateLimit: rng.int(1, 100), senders: ['FZ', 'FZ2'], timeZone: 'UTC' })],
    ['POST', `/api/operator/partners/${pid()}/${rng.pick(['block', 'unblock'])}`, () => ({})],
    ['POST', `/api/operator/partners/${pid()}/service-numbers`, () => ({ action: rng.pick(['add', 'remove']), number: String(rng.int(1000, 9999)) })],
    ['POST', '/api/operator/users', () => ({ login: `fzu${rng.int(1, 1e9)}`, role: 'partner', partnerId: Number(rng.pick(ctx.decoyPartnerIds)) })],
    ['PATCH', `/api/operator/users/${someId(rng, ctx, 'user')}`, () => ({ role: 'partner', partnerId: Number(rng.pick(ctx.decoyPartnerIds)) })],
    ['DELETE', `/api/operator/users/${someId(rng, ctx, 'user')}`, () => undefined],
    ['POST', '/api/operator/smsc', () => ({ name: `fz${rng.int(1, 1e9)}`, host: '127.0.0.1', port: 2775, systemId: 'fz', password: 'pw' })],
    ['PATCH', `/api/operator/smsc/${someId(rng, ctx, 'smsc')}`, () => ({ tps: rng.int(1, 500), routes: '7903' })],
    ['POST', `/api/operator/smsc/${someId(rng, ctx, 'smsc')}/${rng.pick(['enable', 'disable'])}`, () => ({})],
    ['DELETE', `/api/operator/smsc/${someId(rng, ctx, 'smsc')}`, () => undefined],
    ['POST', '/api/callbacks/resend', () => ({ partnerId: Number(rng.pick(ctx.decoyPartnerIds)), ids: ['1', '2'] })],
    ['POST', '/api/account/api-password', () => ({ partnerId: Number(rng.pick(ctx.decoyPartnerIds)) })],
    ['POST', '/api/auth/password', () => ({ currentPassword: 'not-the-password', newPassword: 'a-new-password-1' })],
    ['POST', '/api/auth/logout', () => ({})],
  ];
  const [method, path, template] = rng.weighted(routes.map((r) => [r[1].startsWith('/api/callbacks/resend') ? 1 : r[1] === '/api/auth/logout' ? 1 : 4, r]));
  const valid = template();
  const shape = rng.weighted([[25, 'valid'], [40, 'mutated'], [10, 'bytes'], [8, 'type'], [7, 'random'], [5, 'over limit'], [5, 'deep']]);
  let body;
  if (shape === 'valid') body = valid === undefined ? undefined : JSON.stringify(valid);
  else if (shape === 'mutated') body = JSON.stringify(mutateJson(rng, valid ?? {}));
  else if (shape === 'bytes') body = mutateBytes(rng, JSON.stringify(valid ?? {}));
  else if (shape === 'type') body = JSON.stringify(jsonValue(rng));
  else if (shape === 'random') body = rng.bytes(rng.len(2000)).toString('latin1');
  else if (shape === 'over limit') body = JSON.stringify({ ...(valid ?? {}), pad: 'o'.repeat(256 * 1024 + rng.int(-16, 400_000)) });
  else body = `${'['.repeat(rng.int(1000, 100_000))}${rng.chance(0.5) ? ']'.repeat(10) : ''}`;
  const type = rng.weighted([[85, 'application/json'], [4, 'application/json; charset=latin1'], [4, 'text/plain'], [3, 'application/x-www-form-urlencoded'], [4, null]]);
  // Logout and password changes end sessions: they run on a spare account so the fuzz keeps its own.
  const session = /\/api\/auth\/(logout|password)$/.test(path) || path.startsWith('/api/account/api-password') ? 'spare' : path.startsWith('/api/operator') || path.startsWith('/api/callbacks') ? rng.pick(['operator', 'operator', 'operator', 'partner']) : rng.pick(['operator', 'partner']);
  const headers = type ? { 'content-type': type } : {};
  return { method, path, headers, body: body === undefined ? undefined : Buffer.from(body, shape === 'random' || shape === 'bytes' ? 'latin1' : 'utf8'), session, csrf: rng.chance(0.95) ? 'right' : rng.pick(['none', 'wrong']) };
}

function portalCase(rng, ctx) {
  const family = rng.weighted([
    [10, 'login'],
    [38, 'read (session)'],
    [28, 'write (session)'],
    [12, 'no session'],
    [6, 'path variants'],
    [6, 'random path'],
  ]);
  const base = { target: 'portal', family, via: 'http', headers: {} };
  switch (family) {
    case 'login': {
      const valid = { login: rng.pick(['fz-operator', 'fz-partner', 'nobody', 'fz-spare']), password: rng.pick(['wrong-password', 'x']) };
      const shape = rng.weighted([[30, 'mutated'], [20, 'type'], [15, 'bytes'], [10, 'valid'], [10, 'over limit'], [10, 'no json type'], [5, 'empty']]);
      let body = JSON.stringify(valid);
      const headers = { 'content-type': 'application/json' };
      if (shape === 'mutated') body = JSON.stringify(mutateJson(rng, valid));
      else if (shape === 'type') body = JSON.stringify(jsonValue(rng));
      else if (shape === 'bytes') body = mutateBytes(rng, body);
      else if (shape === 'over limit') body = JSON.stringify({ login: 'l'.repeat(rng.int(200_000, 1_500_000)), password: 'x' });
      else if (shape === 'no json type') headers['content-type'] = rng.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'multipart/form-data; boundary=x']);
      else body = '';
      return { ...base, method: 'POST', path: '/api/auth/login', headers, body: Buffer.from(body, shape === 'bytes' ? 'latin1' : 'utf8'), session: null };
    }
    case 'read (session)': {
      const { path } = portalGet(rng, ctx);
      return { ...base, method: rng.chance(0.95) ? 'GET' : 'HEAD', path, session: rng.pick(['operator', 'partner']) };
    }
    case 'write (session)':
      return { ...base, ...portalWrite(rng, ctx) };
    case 'no session': {
      const read = rng.chance(0.6);
      const c = read ? { method: 'GET', path: portalGet(rng, ctx).path, headers: {} } : portalWrite(rng, ctx);
      return { ...base, ...c, session: rng.pick([null, 'bogus']), csrf: 'none' };
    }
    case 'path variants': {
      // The same routes spelled differently: escapes in the path, case, slashes; no session.
      const { path } = portalGet(rng, ctx);
      const [p, q] = path.split('?');
      const variant = rng.weighted([
        [30, () => p.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`)],
        [20, () => p.replace(/[a-z]/g, (c) => (rng.chance(0.3) ? `%${c.charCodeAt(0).toString(16).toUpperCase()}` : c))],
        [10, () => p.toUpperCase()],
        [10, () => `/${p}`],
        [10, () => `${p}/`],
        [10, () => p.replace('/api/', '/api/./')],
        [10, () => p.replace('/api/', '/x/../api/')],
      ])();
      return { ...base, method: 'GET', path: q ? `${variant}?${q}` : variant, session: null };
    }
    default:
      return { ...base, method: rng.pick(['GET', 'GET', 'POST', 'DELETE', 'PATCH', 'OPTIONS']), path: randomPath(rng, GET_ROUTES.map((r) => r[1])), session: rng.pick([null, 'operator', 'partner']), csrf: 'right' };
  }
}

// ---------------------------------------------------------------- raw sockets

const CRLF = '\r\n';

function rawCase(rng, ctx) {
  const target = rng.chance(0.55) ? 'ingress' : 'portal';
  // Each raw case's sends share one partnerMsgId that names the case, first in the query and kept
  // out of byte mutations: a message stored for a request whose answer never arrived (the
  // connection was closed first) can be told apart.
  ctx.seq = (ctx.seq ?? 0) + 1;
  const marker = `raw-${ctx.seq}`;
  const { partnerMsgId: _, ...rest } = validSendValues(rng, ctx);
  const valid = { partnerMsgId: marker, ...rest };
  const mutate = (s) => {
    const at = s.indexOf(`${marker}&`);
    return at < 0 ? mutateBytes(rng, s, true) : s.slice(0, at + marker.length + 1) + mutateBytes(rng, s.slice(at + marker.length + 1), true);
  };
  const sendPath = `/send?${qs(encPairs(valid))}`;
  const portalPath = portalGet(rng, ctx).path;
  const goodPath = target === 'ingress' ? sendPath : portalPath;
  const host = `Host: 127.0.0.1:${target === 'ingress' ? ctx.ingressPort : ctx.portalPort}${CRLF}`;
  const family = rng.weighted([
    [14, 'bad request line'],
    [10, 'absolute-form target'],
    [8, 'header flood'],
    [8, 'bytes in path'],
    [8, 'disconnect mid-request'],
    [6, 'chunked without end'],
    [3, 'slow client'],
    [8, 'pipelined'],
    [8, 'framing conflicts'],
    [10, 'mutated request'],
    [7, 'url near limit'],
    [10, 'random bytes'],
  ]);
  const c = { target, family, via: 'raw', seq: ctx.seq, chunks: [], end: 'read', timeoutMs: 3000 };
  const push = (s) => c.chunks.push(Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'));
  switch (family) {
    case 'bad request line':
      push(
        rng.pick([
          `GET ${goodPath}${CRLF}${host}${CRLF}`,
          `GET ${goodPath} HTTP/9.9${CRLF}${host}${CRLF}`,
          `get ${goodPath} HTTP/1.1${CRLF}${host}${CRLF}`,
          `GET  ${goodPath}  HTTP/1.1${CRLF}${host}${CRLF}`,
          `GET${CRLF}${host}${CRLF}`,
          `${CRLF}${CRLF}`,
          `GET ${goodPath} HTTP/1.0${CRLF}${CRLF}`,
          `GET ${goodPath} HTTP/1.1${CRLF}${CRLF}`,
          `GET ${goodPath} HTTP/1.1\n${host.trim()}\n\n`,
          `G\x00T ${goodPath} HTTP/1.1${CRLF}${host}${CRLF}`,
          `GET ${goodPath} HTTP/1.1 extra${CRLF}${host}${CRLF}`,
          `CONNECT 127.0.0.1:22 HTTP/1.1${CRLF}${host}${CRLF}`,
          `PRI * HTTP/2.0${CRLF}${CRLF}SM${CRLF}${CRLF}`,
          `GET * HTTP/1.1${CRLF}${host}${CRLF}`,
          `${'A'.repeat(rng.int(10, 20000))} / HTTP/1.1${CRLF}${host}${CRLF}`,
          `GET ${goodPath} HTTP/1.1${CRLF} leading-space: x${CRLF}${host}${CRLF}`,
          `GET ${goodPath} HTTP/1.1${CRLF}no-colon-header${CRLF}${host}${CRLF}`,
          `GET ${goodPath} HTTP/1.1${CRLF}Host: a${CRLF}Host: b${CRLF}${CRLF}`,
        ]),
      );
      break;
    case 'absolute-form target':
      push(`GET ${rng.pick(['http', 'https', 'HTTP', 'ftp'])}://${rng.pick([`127.0.0.1:${target === 'ingress' ? ctx.ingressPort : ctx.portalPort}`, 'example.com', '[::1]', 'localhost:1', 'user@127.0.0.1'])}${goodPath} HTTP/1.1${CRLF}${host}Connection: close${CRLF}${CRLF}`);
      break;
    case 'header flood': {
      const n = rng.weighted([[40, rng.int(50, 200)], [40, rng.int(200, 3000)], [20, rng.int(3000, 20000)]]);
      let h = '';
      for (let i = 0; i < n; i++) h += `X-F${i}: ${'v'.repeat(rng.int(1, 20))}${CRLF}`;
      if (rng.chance(0.3)) h = `X-Big: ${'h'.repeat(rng.int(8000, 200_000))}${CRLF}`;
      if (rng.chance(0.2)) h += `Cookie: ${Array.from({ length: rng.int(10, 2000) }, (_, i) => `c${i}=${i}`).join('; ')}${CRLF}`;
      push(`GET ${goodPath} HTTP/1.1${CRLF}${host}${h}Connection: close${CRLF}${CRLF}`);
      break;
    }
    case 'bytes in path': {
      const junk = rng.bytes(rng.len(60)).toString('latin1').replace(/[\r\n]/g, '');
      push(`GET ${rng.chance(0.5) ? `/send?partnerMsgId=${marker}&serviceId=${ctx.partner.login}&pass=${ctx.partner.password}&clientId=79036550550&message=${junk}` : `/${junk}`} HTTP/1.1${CRLF}${host}Connection: close${CRLF}${CRLF}`);
      break;
    }
    case 'disconnect mid-request': {
      // Never a complete request: a prefix of the head, or a body shorter than its Content-Length.
      c.end = 'close';
      c.timeoutMs = rng.int(0, 300);
      const full = target === 'ingress' ? `POST /send HTTP/1.1${CRLF}${host}Content-Type: application/x-www-form-urlencoded${CRLF}Content-Length: 5000${CRLF}${CRLF}${qs(encPairs(valid))}` : `POST /api/auth/login HTTP/1.1${CRLF}${host}Content-Type: application/json${CRLF}Content-Length: 5000${CRLF}${CRLF}{"login":"fz-operator","password":"`;
      const headEnd = full.indexOf(CRLF + CRLF);
      push(full.slice(0, rng.chance(0.5) ? rng.int(1, headEnd + 1) : rng.int(headEnd + 4, full.length)));
      break;
    }
    case 'chunked without end': {
      c.timeoutMs = rng.int(200, 2000);
      const path = target === 'ingress' ? '/send' : '/api/auth/login';
      const type = target === 'ingress' ? 'application/x-www-form-urlencoded' : 'application/json';
      push(`POST ${path} HTTP/1.1${CRLF}${host}Content-Type: ${type}${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}`);
      for (let i = rng.int(1, 20); i > 0; i--) {
        const data = 'k'.repeat(rng.int(1, 5000));
        push(`${data.length.toString(16)}${CRLF}${data}${CRLF}`);
        if (rng.chance(0.3)) c.chunks.push({ delay: rng.int(10, 100) });
      }
      if (rng.chance(0.2)) push(`zz${CRLF}bad chunk${CRLF}`);
      c.end = rng.chance(0.5) ? 'close' : 'read';
      break;
    }
    case 'slow client': {
      // Dribbles a request a few bytes at a time, then leaves before finishing it.
      const full = `GET ${goodPath} HTTP/1.1${CRLF}${host}X-Slow: ${'s'.repeat(200)}${CRLF}`;
      const seconds = rng.int(1, 4);
      const steps = Math.min(40, full.length);
      const per = Math.ceil(full.length / steps);
      for (let i = 0; i < steps; i++) {
        push(full.slice(i * per, (i + 1) * per));
        c.chunks.push({ delay: Math.floor((seconds * 1000) / steps) });
      }
      c.end = 'close';
      c.timeoutMs = 0;
      break;
    }
    case 'pipelined': {
      let s = '';
      const n = rng.int(2, 20);
      for (let i = 0; i < n; i++) s += `GET ${i % 3 === 2 ? mutate(goodPath) : goodPath} HTTP/1.1${CRLF}${host}${i === n - 1 ? `Connection: close${CRLF}` : ''}${CRLF}`;
      push(s);
      c.timeoutMs = 5000;
      break;
    }
    case 'framing conflicts': {
      const body = target === 'ingress' ? qs(encPairs(valid)) : JSON.stringify({ login: 'nobody', password: 'x' });
      const path = target === 'ingress' ? '/send' : '/api/auth/login';
      const type = target === 'ingress' ? 'application/x-www-form-urlencoded' : 'application/json';
      const hdr = rng.pick([
        `Content-Length: ${body.length}${CRLF}Transfer-Encoding: chunked${CRLF}`,
        `Content-Length: ${body.length}${CRLF}Content-Length: ${body.length + 1}${CRLF}`,
        `Content-Length: -1${CRLF}`,
        `Content-Length: 1e3${CRLF}`,
        `Content-Length: ${body.length}, ${body.length}${CRLF}`,
        `Content-Length: 99999999999999999999${CRLF}`,
        `Transfer-Encoding: gzip, chunked${CRLF}`,
        `Transfer-Encoding: chunked${CRLF}Transfer-Encoding: identity${CRLF}`,
        `Transfer-Encoding : chunked${CRLF}`,
        `Content-Length: ${Math.max(0, body.length - 5)}${CRLF}`,
        `Expect: 100-continue${CRLF}Content-Length: ${body.length}${CRLF}`,
        `Content-Encoding: gzip${CRLF}Content-Length: ${body.length}${CRLF}`,
      ]);
      push(`POST ${path} HTTP/1.1${CRLF}${host}Content-Type: ${type}${CRLF}${hdr}Connection: close${CRLF}${CRLF}${body}`);
      break;
    }
    case 'mutated request': {
      const req = target === 'ingress' ? `GET ${sendPath} HTTP/1.1${CRLF}${host}Connection: close${CRLF}${CRLF}` : `POST /api/auth/login HTTP/1.1${CRLF}${host}Content-Type: application/json${CRLF}Content-Length: 41${CRLF}Connection: close${CRLF}${CRLF}{"login":"nobody","password":"wrong-pw"}`;
      push(target === 'ingress' ? mutate(req) : mutateBytes(rng, req));
      c.timeoutMs = 1500;
      break;
    }
    case 'url near limit': {
      const size = rng.pick([rng.int(16_000, 16_384), rng.int(16_384, 17_000), rng.int(60_000, 70_000), rng.int(80_000, 90_000)]);
      push(`GET ${goodPath}&pad=${'u'.repeat(size)} HTTP/1.1${CRLF}${host}Connection: close${CRLF}${CRLF}`);
      break;
    }
    default:
      push(rng.bytes(rng.len(4000)));
      if (rng.chance(0.5)) push(`${CRLF}${CRLF}`);
      c.timeoutMs = 1000;
  }
  return c;
}

/** The next case of the run: roughly 45% ingress HTTP, 40% portal HTTP, 15% raw sockets. */
function nextCase(rng, ctx) {
  const r = rng.next();
  if (r < 0.45) return ingressCase(rng, ctx);
  if (r < 0.85) return portalCase(rng, ctx);
  return rawCase(rng, ctx);
}

module.exports = { createRng, nextCase, mutateBytes, wireValue };
