// The signature check that docs/protocol.md §8 gives partners must accept exactly what the
// platform sends: this runs the documented block (as `node` would) and checks its functions and
// its sample values against signCallback and moCallbackHash.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { appendCallbackParams, callbackBaseUrl, callbackPathAndQuery, moCallbackHash, signCallback } from './callback';

const DOC = path.resolve(__dirname, '..', '..', '..', 'docs', 'protocol.md');
const MARKER = '<!-- signature-example:';

/** The ```js block after the marker, and the ``` block the doc says it prints. */
function documented(): { code: string; output: string } {
  const text = readFileSync(DOC, 'utf8');
  const at = text.indexOf(MARKER);
  if (at < 0) throw new Error(`${DOC}: no "${MARKER}" block`);
  const blocks = [...text.slice(at).matchAll(/```(\w*)\n([\s\S]*?)```/g)];
  const [code, output] = blocks;
  if (code?.[1] !== 'js' || output === undefined) throw new Error(`${DOC}: the marker must be followed by a js block and its output block`);
  return { code: code[2]!, output: output[2]! };
}

type Verify = (secret: string, header: string | undefined, target: string, nowSeconds?: number) => boolean;
type VerifyMo = (secret: string, query: URLSearchParams) => boolean;

function load(code: string): { verifySignature: Verify; verifyMoHash: VerifyMo; logged: string[] } {
  const logged: string[] = [];
  const context = vm.createContext({ require, Buffer, URL, URLSearchParams, console: { log: (...a: unknown[]) => logged.push(a.map(String).join(' ')) } });
  const exported = vm.runInContext(`${code}\n;({ verifySignature, verifyMoHash })`, context) as { verifySignature: Verify; verifyMoHash: VerifyMo };
  return { ...exported, logged };
}

describe('the signature check documented for partners (docs/protocol.md §8)', () => {
  const { code, output } = documented();
  const example = load(code);

  it('runs with plain node and prints what the doc says', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'smsgw-doc-'));
    try {
      writeFileSync(path.join(dir, 'verify-callback.js'), code);
      expect(execFileSync(process.execPath, [path.join(dir, 'verify-callback.js')], { encoding: 'utf8' })).toBe(output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(`${example.logged.join('\n')}\n`).toBe(output);
  });

  it("uses sample values that are the platform's own signature and hash", () => {
    const secret = /const secret = '([^']+)'/.exec(code)![1]!;
    const dlrTarget = /const dlrTarget = '([^']+)'/.exec(code)![1]!;
    const dlrHeader = /const dlrHeader = '([^']+)'/.exec(code)![1]!;
    const t = Number(/^t=(\d+),/.exec(dlrHeader)![1]);
    expect(signCallback(secret, dlrTarget, t)).toBe(dlrHeader);
    const mo = new URL(/const moTarget = '([^']+)'/.exec(code)![1]!, 'http://x').searchParams;
    expect(mo.get('hash')).toBe(moCallbackHash(secret, mo.get('clientId')!, mo.get('message')!, mo.get('messageId')!));
  });

  it('accepts what the worker signs, for any secret and URL, and nothing else', () => {
    const now = 1_795_608_031;
    for (let i = 0; i < 50; i++) {
      const secret = randomBytes(1 + (i % 40)).toString(i % 2 ? 'base64url' : 'hex');
      // Built as the worker builds it: the partner's URL (with its own query) plus the parameters.
      const base = callbackBaseUrl(`https://partner.example/cb/${i}?token=a%2Bb&k=${i}`);
      const url = appendCallbackParams(base, [
        ['clientId', `7903${i}`],
        ['message', `Привет & 100% ok+ 😀 #${randomBytes(4).toString('hex')}`],
        ['messageId', String(1000 + i)],
      ]);
      const target = callbackPathAndQuery(url);
      const sentAt = now - (i % 300);
      const header = signCallback(secret, target, sentAt);
      expect(example.verifySignature(secret, header, target, now)).toBe(true);
      expect(example.verifySignature(`${secret}x`, header, target, now)).toBe(false);
      expect(example.verifySignature(secret, header, `${target}&x=1`, now)).toBe(false);
      expect(example.verifySignature(secret, header, target, now + 301)).toBe(false);
      // Two values during a change of secret: either one may match.
      expect(example.verifySignature(secret, `${signCallback('old-secret', target, sentAt)},v1=${header.split('v1=')[1]}`, target, now)).toBe(true);

      const query = new URL(url).searchParams;
      query.set('hash', moCallbackHash(secret, query.get('clientId')!, query.get('message')!, query.get('messageId')!));
      expect(example.verifyMoHash(secret, query)).toBe(true);
      expect(example.verifyMoHash(`${secret}x`, query)).toBe(false);
    }
    expect(example.verifySignature('s', undefined, '/x', now)).toBe(false);
    expect(example.verifySignature('s', 'v1=00', '/x', now)).toBe(false);
    expect(example.verifySignature('s', `t=${now},v1=${'0'.repeat(64)}`, '/x', now)).toBe(false);
  });
});
