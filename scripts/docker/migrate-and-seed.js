#!/usr/bin/env node
// The compose file's one-shot `migrate` service (image smsgw/admin): applies the migrations, then,
// when SEED_DEMO is true (its default unless NODE_ENV=production), seeds the demo data and fits
// it to the compose network. NODE_ENV=production with SEED_DEMO=true is refused: the demo
// accounts' passwords are published, and the production services would refuse to start with them. The apps start
// only after this exits 0 (depends_on: service_completed_successfully), so that migrations run
// once per `up`, never in every container.
//
// 1. npm run db:migrate               packages/db/scripts/migrate.mjs (creates the database if missing)
// 2. npm run db:seed                  the demo partner, the SMSC connection `simulator`, number 4565
// 3. The seed writes what fits one machine; in compose each service is its own host:
//    - the connection `simulator` is pointed at SIMULATOR_HOST (the simulator's service name),
//      if it still has the seeded host 127.0.0.1;
//    - with DEMO_ALLOW_COMPOSE_NETWORK=true, the demo partner is also allowed from the networks
//      this container is on. A request to a published port (curl http://127.0.0.1:8080/... on
//      the Docker host) reaches the ingress from the network's gateway address, not from
//      127.0.0.1, so without this the seeded allow-list (127.0.0.1/32, ::1/128) refuses it.
//    Both go through the admin CLI, so they are in the audit log and reach running services.
//    An operator's later change to either is left alone: the host only moves from 127.0.0.1,
//    and a network already in the list is not added again.
'use strict';
const { spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const db = path.join(root, 'packages', 'db');
const admin = path.join(root, 'apps', 'admin', 'dist', 'main.js');
const flag = (name, fallback) => {
  const v = (process.env[name] ?? '').trim().toLowerCase();
  return v === '' ? fallback : !['false', '0', 'no', 'off'].includes(v);
};

function run(what, args, { capture = false } = {}) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`migrate-and-seed: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
  return r.stdout;
}
const adminJson = (...args) => JSON.parse(run(`admin ${args.join(' ')}`, [admin, ...args, '--json'], { capture: true }));

/** The networks (CIDR) of this container's interfaces, e.g. 172.18.0.0/16. */
function ownNetworks() {
  const out = [];
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal || !a.cidr) continue;
      if (a.family === 'IPv6' && /^fe80:/i.test(a.address)) continue;
      out.push(networkOf(a.cidr));
    }
  }
  return [...new Set(out)];
}

function networkOf(cidr) {
  const [address, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (!address.includes(':')) {
    const n = address.split('.').reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
    const net = bits === 0 ? 0n : (n >> BigInt(32 - bits)) << BigInt(32 - bits);
    return `${[24n, 16n, 8n, 0n].map((s) => (net >> s) & 255n).join('.')}/${bits}`;
  }
  const [head, tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const n = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  const net = bits === 0 ? 0n : (n >> BigInt(128 - bits)) << BigInt(128 - bits);
  const parts = [];
  for (let s = 112n; s >= 0n; s -= 16n) parts.push(((net >> s) & 0xffffn).toString(16));
  return `${parts.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}/${bits}`;
}

const production = process.env.NODE_ENV === 'production';
const seedDemo = flag('SEED_DEMO', !production);
if (production && seedDemo) {
  // Before migrating: a refused start changes nothing.
  console.error(
    'migrate-and-seed: SEED_DEMO=true and NODE_ENV=production: production refuses the demo accounts and their published passwords; ' +
      'unset SEED_DEMO (or set it to false), or use NODE_ENV=development for a trial',
  );
  process.exit(1);
}

run('migrate', ['--no-warnings', path.join(db, 'scripts', 'migrate.mjs')]);

if (!seedDemo) {
  console.log(`SEED_DEMO=${process.env.SEED_DEMO?.trim() || `false (the default with NODE_ENV=production)`}: no demo data seeded`);
  process.exit(0);
}
run('seed', [path.join(db, 'dist', 'seed.js')]);

const simulatorHost = (process.env.SIMULATOR_HOST ?? '').trim();
if (simulatorHost) {
  const c = adminJson('smsc', 'show', 'simulator');
  if (c.host === '127.0.0.1') {
    run('smsc update', [admin, 'smsc', 'update', 'simulator', '--host', simulatorHost], { capture: true });
    console.log(`SMSC connection simulator: host 127.0.0.1 -> ${simulatorHost} (the simulator's service)`);
  } else {
    console.log(`SMSC connection simulator points at ${c.host}:${c.port}; left unchanged`);
  }
}

if (flag('DEMO_ALLOW_COMPOSE_NETWORK', false)) {
  const partner = adminJson('partner', 'show', 'demo');
  const allowed = partner.allowedIps ?? [];
  const missing = ownNetworks().filter((n) => !allowed.includes(n));
  if (missing.length) {
    run('partner update', [admin, 'partner', 'update', 'demo', '--allowed-ips', [...allowed, ...missing].join(',')], { capture: true });
    console.log(`demo partner: also allowed from ${missing.join(', ')} (this compose network; requests to published ports come from its gateway)`);
  } else {
    console.log(`demo partner: allowed from ${allowed.join(', ')}; left unchanged`);
  }
}
