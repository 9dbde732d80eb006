// Sends an SMS, reads its status and shows how a refusal looks, with Node's built-in fetch (Node
// 18 or later), POST form bodies and XML answers: with output=xml every processed request is
// answered HTTP 200 and the protocol code is in <code>.
// Environment: SMSGW_BASE_URL (default http://127.0.0.1:8080), SMSGW_LOGIN, SMSGW_PASSWORD,
// SMSGW_TO (default 79036550550), SMSGW_TEXT.
import { randomUUID } from 'node:crypto';

const base = process.env.SMSGW_BASE_URL ?? 'http://127.0.0.1:8080';
const credentials = { serviceId: process.env.SMSGW_LOGIN, pass: process.env.SMSGW_PASSWORD };

class Refused extends Error {
  constructor(code, text) {
    super(`${code} ${text}`);
    this.code = code;
    this.text = text;
  }
}

/** The text of each <name> element of a protocol answer (flat elements only, no attributes). */
function elements(xml, name) {
  const unescape = (s) => s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]);
  return [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => unescape(m[1]));
}

/** One request; the XML of an answer whose code is 200, else Refused. */
async function call(path, params) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    body: new URLSearchParams({ ...credentials, ...params, output: 'xml' }),
    signal: AbortSignal.timeout(30_000),
  });
  const xml = await res.text();
  const [code] = elements(xml, 'code');
  if (!res.ok || code === undefined) throw new Error(`no protocol answer from ${path}: HTTP ${res.status} ${xml}`);
  if (code !== '200') throw new Refused(Number(code), elements(xml, 'text')[0]);
  return xml;
}

const sent = await call('/send', {
  clientId: process.env.SMSGW_TO ?? '79036550550',
  message: process.env.SMSGW_TEXT ?? 'Hello from Node',
  partnerMsgId: randomUUID(), // a retry with the same id is answered, not sent again
});
const [id] = elements(sent, 'id');
console.log(`sent: ${id} (${elements(sent, 'segments')[0]} segment(s))`);

const status = await call('/status', { transactionId: id });
console.log(`status: ${elements(status, 'transactionId')[0]} ${elements(status, 'status')[0]}`);

try {
  await call('/send', { clientId: '12345', message: 'This one is refused' });
  console.error('expected a refusal');
  process.exitCode = 1;
} catch (e) {
  if (!(e instanceof Refused)) throw e;
  console.log(`refused: ${e.code} ${e.text}`);
}
