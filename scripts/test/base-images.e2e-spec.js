// scripts/docker/build-base-images.sh names no mirror or registry of its own: the npm registry
// comes from NPM_REGISTRY or from what npm's configuration on the machine sets (the environment,
// a project, user or global .npmrc), never from npm's built-in default; without either it stops
// and says what to set. Run with an empty npm configuration (HOME and both .npmrc files of a temp
// directory) and --force, so that images already present do not end the run early.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(root, 'scripts', 'docker', 'build-base-images.sh');
const NO_REGISTRY = /no npm registry: npm's configuration on this machine sets none .*set NPM_REGISTRY/;

describe('build-base-images.sh: where the npm registry comes from', () => {
  let dir;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'base-images-'));
    fs.writeFileSync(path.join(dir, 'userrc'), '');
    fs.writeFileSync(path.join(dir, 'globalrc'), '');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (env) =>
    spawnSync('bash', [SCRIPT, '--force'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        NPM_CONFIG_USERCONFIG: path.join(dir, 'userrc'),
        NPM_CONFIG_GLOBALCONFIG: path.join(dir, 'globalrc'),
        // A mirror that resolves nowhere: the run ends at the first step that needs it.
        DEBIAN_MIRROR: 'http://mirror.invalid/debian',
        ...env,
      },
    });

  it('stops and says what to set when npm is given no registry, whatever npm would default to', () => {
    const r = run({});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(NO_REGISTRY);
  });

  it('takes the registry npm is given: by the environment, or in the user .npmrc', () => {
    for (const [env, rc] of [[{ NPM_CONFIG_REGISTRY: 'http://registry.invalid/' }, ''], [{}, 'registry=http://registry.invalid/\n']]) {
      fs.writeFileSync(path.join(dir, 'userrc'), rc);
      const r = run(env);
      // Past the registry: it stops later, at whatever this machine lacks (root, debootstrap, Docker) or the unreachable mirror.
      expect(r.status).not.toBe(0);
      expect(r.stderr).not.toMatch(NO_REGISTRY);
    }
    fs.writeFileSync(path.join(dir, 'userrc'), '');
  });

  it('takes NPM_REGISTRY over npm configuration', () => {
    const r = run({ NPM_REGISTRY: 'http://registry.invalid/' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).not.toMatch(NO_REGISTRY);
  });
});
