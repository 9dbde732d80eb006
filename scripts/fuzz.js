// `npm run test:fuzz`: a bounded fuzz of the ingress (/send, /status, /cancel) and the portal's
// JSON API, with the built services as child processes on their own database (smsgw_fuzz,
// recreated each run) and Redis prefix (smsgwfuzz). Not part of `npm test` (that runs a short
// version: scripts/test/fuzz.e2e-spec.js). Sends only to 127.0.0.1. Exit code 1 on any failure.
//   FUZZ_SEED       seed of every choice (default: random, printed)
//   FUZZ_REQUESTS   requests after the warm-up (default 100000)
//   FUZZ_SECONDS    time cap of the run (default 900); the run stops sending when it is reached
//   FUZZ_CONCURRENCY requests in flight (default 48)
//   FUZZ_SETTLE_SECONDS idle time after the run whose lowest RSS is compared (default 20)
//   FUZZ_RSS_TOLERANCE_MB allowed RSS growth of each service over the run (default 100)
// What it sends and checks: docs/operator-guide.md, section 12, "Fuzz".
const fs = require('node:fs');
const path = require('node:path');
const { preflight } = require('./preflight');
const { intEnv, root } = require('./lib/services');
const { runFuzz } = require('./lib/fuzz-run');

async function main() {
  const problem = await preflight();
  if (problem) throw new Error(problem);
  for (const f of ['apps/ingress-api/dist/main.js', 'apps/portal/dist/main.js', 'packages/db/dist/testing.js']) {
    if (!fs.existsSync(path.join(root, f))) throw new Error(`${f} is missing: run npm run build first`);
  }
  const seed = intEnv('FUZZ_SEED', Math.floor(Math.random() * 2 ** 31), 0, 'test:fuzz');
  const result = await runFuzz({
    seed,
    requests: intEnv('FUZZ_REQUESTS', 100_000, 1, 'test:fuzz'),
    seconds: intEnv('FUZZ_SECONDS', 900, 1, 'test:fuzz'),
    concurrency: intEnv('FUZZ_CONCURRENCY', 48, 1, 'test:fuzz'),
    settleSeconds: intEnv('FUZZ_SETTLE_SECONDS', 20, 1, 'test:fuzz'),
    rssToleranceMb: intEnv('FUZZ_RSS_TOLERANCE_MB', 100, 1, 'test:fuzz'),
    database: 'smsgw_fuzz',
    redisPrefix: 'smsgwfuzz',
    keepDatabase: true,
    progress: true,
  });
  if (!result.ok) process.stdout.write(`\nrepeat with FUZZ_SEED=${seed}\n`);
  // The services are stopped and the connections closed; exit even if a client socket of a
  // dribbling case still holds the event loop.
  process.exit(result.ok ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`test:fuzz failed: ${e.stack || e.message}\n`);
  process.exit(1);
});
