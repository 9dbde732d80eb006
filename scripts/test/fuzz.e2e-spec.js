// The short fuzz in `npm test`: the generator and checks of `npm run test:fuzz` (scripts/lib/fuzz-run.js)
// with 2,500 requests against the built ingress and portal on a throw-away database. FUZZ_SEED
// picks the seed (default 1, so the suite is repeatable); the full run picks a random one.
const { randomBytes } = require('node:crypto');
const { runFuzz } = require('../lib/fuzz-run');

jest.setTimeout(180_000);

test('fuzzed requests: no unexpected 5xx, no answer without a session, processes healthy, rows = OK ids, memory bounded', async () => {
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const lines = [];
  const result = await runFuzz({
    seed: Number(process.env.FUZZ_SEED || 1),
    requests: 2500,
    seconds: 75, // a bound for a busy machine (npm test runs other suites beside it)
    concurrency: 24,
    warmup: 200,
    settleSeconds: 2,
    rssToleranceMb: 100,
    database: `smsgw_t_fuzz_${tag}`,
    redisPrefix: `tfuzz${tag}`,
    keepDatabase: false,
    log: (s) => lines.push(s),
  });
  if (!result.ok) process.stdout.write(`${lines.join('\n')}\n`);
  expect(result.failures).toEqual([]);
  expect(result.sent).toBeGreaterThanOrEqual(1000);
  expect(result.okIds).toBeGreaterThan(50);
});
