/**
 * The reply a partner wrote in the body of its `200` to an MO push (PROTOCOL §6): each
 * CRLF-separated, non-blank line is one SMS to the subscriber. Pure.
 */
export interface ReplyText {
  lines: string[];
  /** Why (part of) the body was not used, for the attempt log. */
  problem: string | null;
}

/** The protocol's limit for one message's text, in characters. */
export const MAX_REPLY_CHARS = 2000;

export function replyLines(body: Buffer | null, contentType: string | null, truncated: boolean, maxLines: number): ReplyText {
  if (!body || body.length === 0) return { lines: [], problem: null };
  const [mediaType = '', ...paramParts] = (contentType ?? 'text/plain').split(';');
  if (mediaType.trim().toLowerCase() !== 'text/plain') return { lines: [], problem: `reply ignored: content type ${mediaType.trim() || '(empty)'} is not text/plain` };
  let charset = 'utf-8';
  for (const p of paramParts) {
    const [k, v] = p.split('=').map((s) => s.trim());
    if (k?.toLowerCase() === 'charset' && v) charset = v.replace(/^"|"$/g, '').toLowerCase();
  }
  let text: string;
  try {
    text = new TextDecoder(charset, { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    // A body cut at the limit may end inside a multi-byte character: drop that tail only.
    if (!truncated) return { lines: [], problem: `reply ignored: body is not valid ${charset}` };
    try {
      text = new TextDecoder(charset, { fatal: false }).decode(body);
    } catch {
      return { lines: [], problem: `reply ignored: unknown charset ${charset}` };
    }
  }
  const problems: string[] = [];
  let raw = text.split(/\r\n|\n|\r/);
  if (truncated) {
    raw = raw.slice(0, -1); // the last line was cut by the body limit
    problems.push('body longer than the limit: its last line was dropped');
  }
  let lines = raw.map((l) => l.replace(/\0/g, '')).filter((l) => l.trim() !== '');
  if (lines.length > maxLines) {
    problems.push(`${lines.length} lines: only the first ${maxLines} were sent`);
    lines = lines.slice(0, maxLines);
  }
  lines = lines.map((l) => {
    const chars = Array.from(l);
    if (chars.length <= MAX_REPLY_CHARS) return l;
    problems.push(`a line longer than ${MAX_REPLY_CHARS} characters was cut`);
    return chars.slice(0, MAX_REPLY_CHARS).join('');
  });
  return { lines, problem: problems.length > 0 ? problems.join('; ') : null };
}
