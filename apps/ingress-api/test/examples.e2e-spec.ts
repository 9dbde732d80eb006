import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { startIngress, type Ingress, type TestPartner } from './harness';

// docs/examples/: each client, run by its interpreter against the real ingress, sends a message
// (stored in the database), reads its status and handles a refusal, as its output says. An
// interpreter that is missing fails its test (.ci/run installs them).
jest.setTimeout(60_000);

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'docs', 'examples');

interface Example {
  name: string;
  command: string;
  args: string[];
  /** Checks that the interpreter (and its libraries) are there; how to get them otherwise. */
  probe: string[];
  install: string;
}

const examples: Example[] = [
  { name: 'curl', command: 'bash', args: [path.join(EXAMPLES, 'send-status.sh')], probe: ['-c', 'command -v curl'], install: 'apt-get install -y curl' },
  { name: 'Python (requests)', command: 'python3', args: [path.join(EXAMPLES, 'send_status.py')], probe: ['-c', 'import requests'], install: 'apt-get install -y python3-requests' },
  { name: 'PHP', command: 'php', args: [path.join(EXAMPLES, 'send-status.php')], probe: ['-r', 'echo PHP_VERSION;'], install: 'apt-get install -y php-cli' },
  { name: 'Node (fetch)', command: process.execPath, args: [path.join(EXAMPLES, 'send-status.mjs')], probe: ['-e', 'fetch'], install: 'Node 18 or later' },
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(example: Example, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(example.command, example.args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('docs/examples against the running ingress', () => {
  let ing: Ingress;
  let partner: TestPartner;
  const env = (overrides: Record<string, string> = {}) => ({
    SMSGW_BASE_URL: `http://127.0.0.1:${ing.port}`,
    SMSGW_LOGIN: partner.login,
    SMSGW_PASSWORD: partner.password,
    ...overrides,
  });

  beforeAll(async () => {
    ing = await startIngress();
    partner = await ing.createPartner();
  });
  afterAll(() => ing?.close());

  describe.each(examples)('$name', (example) => {
    beforeAll(() => {
      const probe = spawnSync(example.command, example.probe, { encoding: 'utf8' });
      if (probe.error || probe.status !== 0) {
        throw new Error(`the ${example.name} example needs \`${example.command}\` (${example.install}): ${probe.error?.message ?? probe.stderr}`);
      }
    });

    it('sends a message, reads its status, reports a refusal', async () => {
      const text = `Hello from ${example.name}, 1+1=2 & Привет`;
      const r = await run(example, env({ SMSGW_TO: '+7 903 655-05-50', SMSGW_TEXT: text }));
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      const lines = r.stdout.trimEnd().split('\n');
      const id = /^sent: ([1-9][0-9]*)\b/.exec(lines[0] ?? '')?.[1];
      expect(id).toBeDefined();
      const { rows } = await ing.pool.query('SELECT partner_id, msisdn, text, status FROM message WHERE id = $1', [id]);
      expect(rows).toEqual([{ partner_id: partner.id, msisdn: '79036550550', text, status: 1 }]);
      expect(lines.slice(1)).toEqual([`status: ${id} 1`, 'refused: 406 Invalid number']);
      const { rows: all } = await ing.pool.query('SELECT count(*)::int AS n FROM message WHERE partner_id = $1 AND text = $2', [partner.id, 'This one is refused']);
      expect(all).toEqual([{ n: 0 }]);
    });

    it('stops on a refusal it cannot handle (a wrong password), naming it', async () => {
      const r = await run(example, env({ SMSGW_PASSWORD: 'wrong' }));
      expect(r.code).not.toBe(0);
      expect(r.stdout).not.toMatch(/^sent:/m);
      expect(r.stderr).toContain('Invalid password');
    });
  });
});
