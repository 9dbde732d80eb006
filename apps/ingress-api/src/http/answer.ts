/**
 * Answers in the three formats of the partner protocol. Plain text: the HTTP status is the code.
 * `output=xml` / `output=json`: HTTP 200 for every processed request, the code inside the body.
 */
export type OutputFormat = 'text' | 'xml' | 'json';

export function outputFormat(value: string | undefined): OutputFormat {
  if (value === 'xml' || value === 'json') return value;
  return 'text';
}

export interface Answer {
  httpStatus: number;
  contentType: string;
  body: string;
}

const TEXT = 'text/plain; charset=utf-8';
const XML = 'application/xml; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>';

export function errorAnswer(format: OutputFormat, code: number, text: string): Answer {
  switch (format) {
    case 'xml':
      return { httpStatus: 200, contentType: XML, body: `${XML_HEAD}<response><code>${code}</code><text>${xmlEscape(text)}</text></response>` };
    case 'json':
      return { httpStatus: 200, contentType: JSON_TYPE, body: JSON.stringify({ code, text }) };
    default:
      return { httpStatus: code, contentType: TEXT, body: text };
  }
}

export function sendOkAnswer(format: OutputFormat, id: string, segments: number): Answer {
  switch (format) {
    case 'xml':
      return {
        httpStatus: 200,
        contentType: XML,
        body: `${XML_HEAD}<response><code>200</code><text>OK</text><payload><id>${id}</id><segments>${segments}</segments></payload></response>`,
      };
    case 'json':
      return { httpStatus: 200, contentType: JSON_TYPE, body: `{"code":200,"text":"OK","id":"${id}","segments":${segments}}` };
    default:
      return { httpStatus: 200, contentType: TEXT, body: `OK\n${id}` };
  }
}

export function plainOkAnswer(format: OutputFormat): Answer {
  switch (format) {
    case 'xml':
      return { httpStatus: 200, contentType: XML, body: `${XML_HEAD}<response><code>200</code><text>OK</text></response>` };
    case 'json':
      return { httpStatus: 200, contentType: JSON_TYPE, body: '{"code":200,"text":"OK"}' };
    default:
      return { httpStatus: 200, contentType: TEXT, body: 'OK' };
  }
}

export interface StatusLine {
  transactionId: string;
  /** -1: unknown to this partner */
  status: number;
  /** 0 when the status has none */
  unifiedExtStatus: number;
  updatedAt: Date | null;
  segments: number;
}

export function statusAnswer(format: OutputFormat, lines: StatusLine[]): Answer {
  switch (format) {
    case 'xml': {
      const items = lines
        .map((l) =>
          l.status === -1
            ? `<message><transactionId>${xmlEscape(l.transactionId)}</transactionId><status>-1</status></message>`
            : `<message><transactionId>${l.transactionId}</transactionId><status>${l.status}</status><unifiedExtStatus>${l.unifiedExtStatus}</unifiedExtStatus><updatedAt>${iso(l.updatedAt)}</updatedAt><segments>${l.segments}</segments></message>`,
        )
        .join('');
      return { httpStatus: 200, contentType: XML, body: `${XML_HEAD}<response><code>200</code><text>OK</text><payload>${items}</payload></response>` };
    }
    case 'json':
      return {
        httpStatus: 200,
        contentType: JSON_TYPE,
        body: JSON.stringify({
          code: 200,
          text: 'OK',
          messages: lines.map((l) =>
            l.status === -1
              ? { transactionId: l.transactionId, status: -1 }
              : { transactionId: l.transactionId, status: l.status, unifiedExtStatus: l.unifiedExtStatus, updatedAt: iso(l.updatedAt), segments: l.segments },
          ),
        }),
      };
    default: {
      const body = lines
        .map((l) => (l.status === -1 ? `${l.transactionId};-1` : `${l.transactionId};${l.status};${l.unifiedExtStatus};${iso(l.updatedAt)};${l.segments}`))
        .join('\n');
      return { httpStatus: 200, contentType: TEXT, body: `OK\n${body}` };
    }
  }
}

/** ISO 8601 UTC with seconds, as partners parse it. */
function iso(d: Date | null): string {
  return d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
}

export function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

export { ProtocolError } from '@smsgw/intake';
