#!/usr/bin/env node
// Used by the Dockerfile (stage `pruned`), after `turbo prune @smsgw/<app> --docker --out-dir OUT`:
// turns OUT into what the runtime image of <app> holds, next to OUT/json (the manifests that
// `npm ci --omit=dev` installs from) and OUT/full (the files copied over them).
//
//   node assemble-runtime.js <app> <repo> <out>
//
// - Keeps only the workspaces <app> needs at run time: turbo prune also keeps the workspaces named
//   in devDependencies (apps that test against each other), which a production image has no use
//   for. They are removed from OUT/json, OUT/full and the pruned lockfile alike, so that npm ci
//   sees a consistent set.
// - Drops build-only packages from the production dependencies (BUILD_ONLY): the Prisma CLI only
//   generates the client at build time; at run time the generated client, @prisma/client and
//   the WebAssembly schema engine (migrations) are what is used.
// - Puts each kept workspace's built `dist` (from <repo>, where `turbo run build` ran) in place
//   of its TypeScript sources and test setup.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const BUILD_ONLY = { '@smsgw/db': ['prisma'] };
/** Left out of the runtime copy of every workspace. */
const SOURCE_ONLY = ['src', 'test', 'jest.config.js', 'tsconfig.json', 'tsconfig.build.json', 'test-helpers.js', 'test-helpers.d.ts', 'prisma.config.ts'];

const [app, repo, out] = process.argv.slice(2);
if (!app || !repo || !out) {
  process.stderr.write('usage: assemble-runtime.js <app> <repo> <out>\n');
  process.exit(2);
}
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const writeJson = (file, value) => fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

// Every workspace turbo kept, by package name.
const workspaces = new Map();
for (const group of ['apps', 'packages']) {
  const dir = path.join(out, 'json', group);
  if (!fs.existsSync(dir)) continue;
  for (const name of fs.readdirSync(dir)) {
    const rel = `${group}/${name}`;
    const manifest = readJson(path.join(out, 'json', rel, 'package.json'));
    workspaces.set(manifest.name, rel);
  }
}
const root = `@smsgw/${app}`;
if (!workspaces.has(root)) {
  process.stderr.write(`assemble-runtime: no workspace ${root} in ${out}/json (apps: ${[...workspaces.keys()].join(', ')})\n`);
  process.exit(1);
}

// The workspaces reachable from the app through `dependencies` only.
const keep = new Set();
const todo = [root];
while (todo.length) {
  const name = todo.pop();
  if (keep.has(name)) continue;
  keep.add(name);
  const deps = readJson(path.join(out, 'json', workspaces.get(name), 'package.json')).dependencies ?? {};
  for (const dep of Object.keys(deps)) if (workspaces.has(dep)) todo.push(dep);
}

const lockFile = path.join(out, 'package-lock.json');
const lock = readJson(lockFile);
for (const [name, rel] of workspaces) {
  if (keep.has(name)) continue;
  for (const tree of ['json', 'full']) fs.rmSync(path.join(out, tree, rel), { recursive: true, force: true });
  delete lock.packages[rel];
  delete lock.packages[`node_modules/${name}`];
}

for (const name of keep) {
  const rel = workspaces.get(name);
  for (const tree of ['json', 'full']) {
    const file = path.join(out, tree, rel, 'package.json');
    const manifest = readJson(file);
    // A production install has no use for devDependencies; removing them also keeps npm from
    // looking for the dev-only workspaces removed above.
    delete manifest.devDependencies;
    for (const dep of BUILD_ONLY[name] ?? []) delete manifest.dependencies?.[dep];
    writeJson(file, manifest);
  }
  const entry = lock.packages[rel];
  if (entry) {
    delete entry.devDependencies;
    for (const dep of BUILD_ONLY[name] ?? []) delete entry.dependencies?.[dep];
  }
  for (const item of SOURCE_ONLY) fs.rmSync(path.join(out, 'full', rel, item), { recursive: true, force: true });
  const dist = path.join(repo, rel, 'dist');
  if (!fs.existsSync(dist)) {
    process.stderr.write(`assemble-runtime: ${rel}/dist is missing: was ${name} built?\n`);
    process.exit(1);
  }
  fs.cpSync(dist, path.join(out, 'full', rel, 'dist'), { recursive: true });
}
// The root manifest lists exactly the kept workspaces (turbo prune lists every one it kept).
const keptDirs = [...keep].map((name) => workspaces.get(name)).sort();
for (const tree of ['json', 'full']) {
  const file = path.join(out, tree, 'package.json');
  const manifest = readJson(file);
  manifest.workspaces = keptDirs;
  writeJson(file, manifest);
}
if (lock.packages['']) lock.packages[''].workspaces = keptDirs;
writeJson(lockFile, lock);
fs.copyFileSync(lockFile, path.join(out, 'json', 'package-lock.json'));
process.stdout.write(`${app}: runtime workspaces ${[...keep].sort().join(', ')}\n`);
