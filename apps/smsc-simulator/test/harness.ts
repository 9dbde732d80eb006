import { connect, PDU, type Session } from 'smpp';
import { startSimulator, type RunningSimulator } from '../src/simulator';
import type { SimulatorConfig } from '../src/config';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A simulator on random ports, quick receipts, two accounts. */
export function startTestSimulator(overrides: Partial<SimulatorConfig> = {}): Promise<RunningSimulator> {
  return startSimulator({
    smppHost: '127.0.0.1',
    httpHost: '127.0.0.1',
    accounts: [
      { systemId: 'smsgw', password: 'smsgw' },
      { systemId: 'other', password: 'secret' },
    ],
    dlrDelayMs: 20,
    ...overrides,
  });
}

export async function api<T = unknown>(
  sim: RunningSimulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${sim.httpPort}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
}

/** A deliver_sm as the `smpp` package decoded it, with the PDU's bytes as they came off the wire. */
export interface ReceivedDeliver {
  pdu: PDU;
  raw: Buffer;
}

export type BindMode = 'transmitter' | 'receiver' | 'transceiver';

/**
 * An ESME built on the `smpp` package's client session. It answers deliver_sm (with
 * `deliverStatus`, or not at all when that returns null) and the SMSC's unbind, and keeps the raw
 * bytes of every PDU it reads.
 */
export class TestEsme {
  readonly delivers: ReceivedDeliver[] = [];
  deliverStatus: (pdu: PDU) => number | null = () => 0;
  closed = false;
  private rawStream = Buffer.alloc(0);
  private readonly rawFrames: Buffer[] = [];

  private constructor(readonly session: Session) {
    // With a 'readable' listener in charge (the library's), 'data' reports each chunk read.
    session.socket.on('data', (chunk: Buffer) => {
      this.rawStream = Buffer.concat([this.rawStream, chunk]);
      while (this.rawStream.length >= 4 && this.rawStream.length >= this.rawStream.readUInt32BE(0)) {
        const length = this.rawStream.readUInt32BE(0);
        this.rawFrames.push(this.rawStream.subarray(0, length));
        this.rawStream = this.rawStream.subarray(length);
      }
    });
    session.on('deliver_sm', (pdu: PDU) => {
      const raw = [...this.rawFrames].reverse().find((f) => f.readUInt32BE(4) === 0x00000005 && f.readUInt32BE(12) === pdu.sequence_number);
      this.delivers.push({ pdu, raw: raw ?? Buffer.alloc(0) });
      const status = this.deliverStatus(pdu);
      if (status !== null) session.send(pdu.response({ command_status: status }));
    });
    session.on('unbind', (pdu: PDU) => session.send(pdu.response()));
    session.on('error', () => undefined);
    session.on('close', () => {
      this.closed = true;
    });
  }

  static connect(port: number): Promise<TestEsme> {
    return new Promise((resolve, reject) => {
      const session = connect({ host: '127.0.0.1', port });
      session.once('error', reject);
      session.once('connect', () => {
        session.off('error', reject);
        resolve(new TestEsme(session));
      });
    });
  }

  /** Connects and binds; fails the test unless the bind succeeds. */
  static async bound(port: number, mode: BindMode = 'transceiver', systemId = 'smsgw', password = 'smsgw'): Promise<TestEsme> {
    const esme = await TestEsme.connect(port);
    const resp = await esme.bind(mode, systemId, password);
    if (resp.command_status !== 0) throw new Error(`bind failed with status ${resp.command_status}`);
    return esme;
  }

  bind(mode: BindMode, systemId = 'smsgw', password = 'smsgw'): Promise<PDU> {
    return this.request(`bind_${mode}`, { system_id: systemId, password, interface_version: 0x34 });
  }

  submit(fields: Record<string, unknown>): Promise<PDU> {
    return this.request('submit_sm', { source_addr: 'TestSender', source_addr_ton: 5, data_coding: 0, ...fields });
  }

  request(command: string, fields: Record<string, unknown> = {}, timeoutMs = 3000): Promise<PDU> {
    return this.send(new PDU(command, fields), timeoutMs);
  }

  send(pdu: PDU, timeoutMs = 3000): Promise<PDU> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${pdu.command} within ${timeoutMs} ms`)), timeoutMs);
      this.session.send(pdu, (resp: PDU) => {
        clearTimeout(timer);
        resolve(resp);
      });
    });
  }

  /** Resolves with the first `n` deliver_sm that `match` accepts, waiting for them to arrive. */
  async waitForDelivers(n: number, match: (d: ReceivedDeliver) => boolean = () => true, timeoutMs = 3000): Promise<ReceivedDeliver[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.delivers.filter(match);
      if (found.length >= n) return found.slice(0, n);
      if (Date.now() > deadline) throw new Error(`expected ${n} deliver_sm, got ${found.length} within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Destroys the connection without unbinding. */
  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => this.session.destroy(() => resolve()));
  }
}

/** The text of a deliver_sm's short_message as the `smpp` package decoded it. */
export function messageText(pdu: PDU): string {
  const sm = pdu.short_message as { message?: unknown } | undefined;
  return typeof sm?.message === 'string' ? sm.message : '';
}

/** The UDH information elements the `smpp` package found (each as IEI, length, data). */
export function udhElements(pdu: PDU): Buffer[] {
  const sm = pdu.short_message as { udh?: Buffer[] } | undefined;
  return sm?.udh ?? [];
}

/** Waits until `check` passes (it throws until then). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(20);
    }
  }
}
