// Secrets given to the CLI (an SMSC's bind password, a partner's chosen API password, a portal
// user's password) come from standard input or a prompt: a command-line argument is visible to
// every user of the machine (ps, /proc/<pid>/cmdline) and stays in shell history.
import type { Command } from 'commander';
import { SettingError } from '@smsgw/partners';

export interface PasswordOptions {
  password?: string;
  passwordStdin?: boolean;
}

/** Adds --password-stdin beside a command's --password option. */
export function addPasswordStdinOption(cmd: Command): Command {
  return cmd.option('--password-stdin', 'read the password from standard input (one line; the trailing newline is dropped)');
}

/**
 * The password a command was given: --password-stdin reads one line from standard input;
 * --password VALUE still works but warns on stderr; with neither, a `required` password is
 * prompted for (without echo) when standard input is a terminal. Undefined: not given and not
 * required (e.g. an update that leaves the password as it is).
 */
export async function readPassword(opts: PasswordOptions, { required, label }: { required: boolean; label: string }): Promise<string | undefined> {
  if (opts.passwordStdin && opts.password !== undefined) throw new SettingError('give --password-stdin or --password, not both');
  if (opts.passwordStdin) return readLineFromStdin(label);
  if (opts.password !== undefined) {
    process.stderr.write(
      'warning: --password puts the password on the command line, where other users of this machine can see it (ps) and shell history keeps it; ' +
        'use --password-stdin (or leave both out to be prompted)\n',
    );
    return opts.password;
  }
  if (!required) return undefined;
  if (!process.stdin.isTTY) throw new SettingError(`${label} needed: pipe it in with --password-stdin, or run the command in a terminal to be prompted`);
  const first = await promptHidden(`${label}: `);
  const again = await promptHidden(`${label} (again): `);
  if (first !== again) throw new SettingError('the two entries differ; nothing changed');
  return first;
}

/**
 * One line of standard input, without its line ending. An empty line is an empty password (an
 * SMSC may have none); no input at all is an error, as it is most likely a mistake.
 */
async function readLineFromStdin(label: string): Promise<string> {
  const stdin = process.stdin;
  let text = '';
  let sawData = false;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer | string) => {
      sawData = true;
      text += chunk.toString();
      if (text.includes('\n')) done();
    };
    const onEnd = () => done();
    const done = () => {
      stdin.off('data', onData).off('end', onEnd).off('error', reject);
      stdin.pause();
      resolve();
    };
    stdin.setEncoding('utf8');
    stdin.on('data', onData).once('end', onEnd).once('error', reject);
    stdin.resume();
  });
  if (!sawData) throw new SettingError(`--password-stdin: nothing on standard input (expected ${label} on one line)`);
  const newline = text.indexOf('\n');
  const line = newline === -1 ? text : text.slice(0, newline);
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Reads a line from the terminal without echoing it (raw mode); Ctrl-C aborts, Ctrl-D ends input. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new SettingError('cancelled; nothing changed'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
