import type { Socket } from 'node:net';
import { PDU } from 'smpp';
import { coalesceWrites } from '@smsgw/sms';
import type { BindMode } from './bind';
import { PduFrameReader } from './pdu-reader';

/** How a request the simulator sent to the ESME ended. */
export type RequestOutcome = { kind: 'response'; status: number } | { kind: 'timeout' } | { kind: 'closed' };

export interface SessionEvents {
  frame(session: EsmeSession, frame: Buffer): void;
  /** The byte stream cannot be cut into PDUs any more; the session is being closed. */
  malformed(session: EsmeSession, error: Error): void;
  closed(session: EsmeSession): void;
}

interface PendingRequest {
  resolve(outcome: RequestOutcome): void;
  timer: NodeJS.Timeout;
}

/** A peer that does not close its side after ours is closed is cut off after this long. */
const END_GRACE_MS = 2000;
let nextSessionId = 1;

/**
 * One TCP connection from an ESME: framing, bind state and the requests the simulator sent on it
 * (deliver_sm, unbind) with their sequence numbers. Outgoing PDUs are encoded by the `smpp` package.
 */
export class EsmeSession {
  readonly id = nextSessionId++;
  readonly remote: string;
  mode: BindMode | null = null;
  systemId: string | null = null;
  /** submit_sm received and not answered yet (the ESME's window as the simulator sees it). */
  unansweredSubmits = 0;
  private readonly reader = new PduFrameReader();
  private readonly pending = new Map<number, PendingRequest>();
  private sequence = 0;
  private isClosed = false;

  constructor(
    private readonly socket: Socket,
    events: SessionEvents,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    coalesceWrites(socket);
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = this.reader.push(chunk);
      } catch (e) {
        events.malformed(this, e as Error);
        this.destroy();
        return;
      }
      for (const frame of frames) {
        if (this.isClosed) return;
        events.frame(this, frame);
      }
    });
    // 'close' always follows; a reset connection is an ordinary way for an ESME to leave.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.isClosed = true;
      for (const [seq, p] of this.pending) {
        clearTimeout(p.timer);
        this.pending.delete(seq);
        p.resolve({ kind: 'closed' });
      }
      events.closed(this);
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Requests sent to the ESME and not answered yet. */
  get unansweredRequests(): number {
    return this.pending.size;
  }

  bind(mode: BindMode, systemId: string): void {
    this.mode = mode;
    this.systemId = systemId;
  }

  /** The ESME unbound: no more traffic either way while the connection winds down. */
  unbind(): void {
    this.mode = null;
  }

  respond(command: string, sequenceNumber: number, status: number, fields: Record<string, unknown> = {}): void {
    this.write(new PDU(command, { ...fields, sequence_number: sequenceNumber, command_status: status }));
  }

  /** Sends a request and resolves when the ESME answers, the time runs out or the connection closes. */
  request(command: string, fields: Record<string, unknown>, timeoutMs: number): Promise<RequestOutcome> {
    if (this.isClosed) return Promise.resolve({ kind: 'closed' });
    const seq = this.nextSequence();
    return new Promise<RequestOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      this.pending.set(seq, { resolve, timer });
      this.write(new PDU(command, { ...fields, sequence_number: seq }));
    });
  }

  /** Matches a response to the request it answers; false when nothing was waiting for it. */
  settle(sequenceNumber: number, status: number): boolean {
    const p = this.pending.get(sequenceNumber);
    if (!p) return false;
    clearTimeout(p.timer);
    this.pending.delete(sequenceNumber);
    p.resolve({ kind: 'response', status });
    return true;
  }

  /** Asks the ESME to unbind, waits for its answer (or the timeout), then drops the connection. */
  async unbindAndClose(timeoutMs: number): Promise<void> {
    await this.request('unbind', {}, timeoutMs);
    this.destroy();
  }

  /** Closes our side after what was written is flushed. */
  end(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), END_GRACE_MS).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private write(pdu: PDU): void {
    if (this.isClosed || !this.socket.writable) return;
    this.socket.write(pdu.toBuffer());
  }

  private nextSequence(): number {
    this.sequence = this.sequence >= 0x7fffffff ? 1 : this.sequence + 1;
    return this.sequence;
  }
}
