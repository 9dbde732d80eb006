#!/usr/bin/env node
// `prisma generate` without network access: Prisma's CLI refuses to start unless it has (or can
// download) its native schema engine, which generate never runs. Point it at a stub that exists.
// Output goes to src/generated/prisma (gitignored). Quiet on success; prints Prisma's output and
// exits non-zero on failure.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const packageDir = path.resolve(__dirname, '..');
const engineStub = path.join(__dirname, 'schema-engine-stub.sh');
const prismaCli = require.resolve('prisma/build/index.js', { paths: [packageDir] });

const env = {
  ...process.env,
  // Keep a real engine if the developer has one; otherwise the stub.
  PRISMA_SCHEMA_ENGINE_BINARY:
    process.env.PRISMA_SCHEMA_ENGINE_BINARY && fs.existsSync(process.env.PRISMA_SCHEMA_ENGINE_BINARY)
      ? process.env.PRISMA_SCHEMA_ENGINE_BINARY
      : engineStub,
  CHECKPOINT_DISABLE: '1', // no version-check request to Prisma's servers
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};

const result = spawnSync(process.execPath, [prismaCli, 'generate', '--schema', 'prisma/schema.prisma'], {
  cwd: packageDir,
  env,
  encoding: 'utf8',
});

if (result.error || result.status !== 0) {
  process.stderr.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  if (result.error) process.stderr.write(`${result.error.message}\n`);
  process.stderr.write(`generate: prisma generate failed (exit ${result.status ?? result.signal})\n`);
  process.exit(result.status || 1);
}
if (!fs.existsSync(path.join(packageDir, 'src/generated/prisma/client.ts'))) {
  process.stderr.write(result.stdout + result.stderr + 'generate: src/generated/prisma/client.ts was not written\n');
  process.exit(1);
}
