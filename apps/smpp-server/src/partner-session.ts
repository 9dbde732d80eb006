import type { Socket } from 'node:net';
import { decodePdu, encodePdu, PduError, PduFramer, socketAddress, type Address, type Pdu, type PduInput } from '@smsgw/sms';
import type { BindMode, BoundPartner } from './partner-binds';
import { RateMeter } from './rate-meter';

export interface SessionEvents {
  pdu(session: PartnerSession, pdu: Pdu): void;
  /** A PDU that could not be read: `sequence` is its sequence_number when the header was readable. */
  malformed(session: PartnerSession, error: PduError, sequence: number | null, fatal: boolean): void;
  idle(session: PartnerSession): void;
  closed(session: PartnerSession): void;
}

let nextId = 1;

/**
 * One partner's TCP connection: cuts the stream into PDUs, writes PDUs, and keeps the two timers
 * (until the bind; then since the last PDU received). What each PDU means is the listener's.
 */
export class PartnerSession {
  readonly id = nextId++;
  readonly address: Address | null;
  readonly remote: string;
  readonly openedAt = new Date();
  mode: BindMode | null = null;
  partner: BoundPartner | null = null;
  boundAt: Date | null = null;
  /** Set while the listener waits for this session's bind to be decided. */
  binding = false;
  /** submit_sm received and not answered yet. */
  inFlight = 0;
  /** deliver_sm of ours (reports, MO) not answered yet. */
  delivering = 0;
  /** An unbind is under way (the partner's or ours): no new submit_sm is taken. */
  closing = false;
  /** submit_sm (and data_sm) answered on this session: stored, and refused. */
  accepted = 0;
  refused = 0;
  /** deliver_sm of ours answered ESME_ROK by the partner, and not (refused, timed out, bind gone). */
  delivered = 0;
  deliverFailed = 0;
  /** submit_sm (and data_sm) answered, and deliver_sm settled, per second over the last 10 s: see `noteSubmitted`, `noteDelivered`. */
  readonly submitRate = new RateMeter();
  readonly deliverRate = new RateMeter();
  private releaseBind: (() => void) | null = null;
  private readonly framer = new PduFramer();
  private timer: NodeJS.Timeout | null = null;
  private sequence = 0;
  private closed = false;
  private corked = false;
  /** end() was called: what the peer sends after it is not read. */
  private ending = false;
  private readonly waiting = new Map<number, (pdu: Pdu | null) => void>();

  constructor(
    private readonly socket: Socket,
    private readonly events: SessionEvents,
    private readonly timeouts: { bindMs: number; inactivityMs: number },
  ) {
    this.address = socketAddress(socket);
    // 127.0.0.1, not ::ffff:127.0.0.1 (an IPv4 client of a dual-stack listener); [addr] for IPv6.
    const host = this.address ? (this.address.kind() === 'ipv6' ? `[${this.address.toString()}]` : this.address.toString()) : (socket.remoteAddress ?? '?');
    this.remote = `${host}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
    this.arm(timeouts.bindMs);
  }

  get bound(): boolean {
    return this.mode !== null;
  }

  /** The connection has not closed. */
  get open(): boolean {
    return !this.closed;
  }

  /** Marks the session bound; `release` gives the partner's bind slot back when it ends. */
  bind(mode: BindMode, partner: BoundPartner, release: () => void): void {
    this.mode = mode;
    this.partner = partner;
    this.boundAt = new Date();
    this.releaseBind = release;
    this.arm(this.timeouts.inactivityMs);
  }

  /**
   * Writes a PDU. What is sent in one turn of the event loop (the answers of one group commit, the
   * deliver_sm of one relay request) leaves in one write: the socket is corked until the turn ends.
   */
  send(pdu: PduInput): void {
    if (this.closed || this.ending) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(encodePdu(pdu));
  }

  /** Counts a submit_sm or data_sm answered on this session: stored (`ok`) or refused. */
  noteSubmitted(ok: boolean): void {
    if (ok) this.accepted++;
    else this.refused++;
    this.submitRate.mark();
  }

  /**
   * Counts a deliver_sm of ours (report or MO) settled on this session: acknowledged with ESME_ROK
   * (`ok`), or not (refused, no answer in time, the bind ended). For `/binds`.
   */
  noteDelivered(ok: boolean): void {
    if (ok) this.delivered++;
    else this.deliverFailed++;
    this.deliverRate.mark();
  }

  /** Sends a request of ours and resolves with its response, or null when the session ends or `timeoutMs` passes. */
  request(pdu: Omit<PduInput, 'sequence'>, timeoutMs: number): Promise<Pdu | null> {
    if (this.closed) return Promise.resolve(null);
    this.sequence = (this.sequence % 0x7fffffff) + 1;
    const sequence = this.sequence;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(null), timeoutMs);
      const settle = (r: Pdu | null) => {
        clearTimeout(timer);
        this.waiting.delete(sequence);
        resolve(r);
      };
      this.waiting.set(sequence, settle);
      this.send({ ...pdu, sequence });
    });
  }

  /** Resolves once every submit_sm taken is answered, or after `ms`. */
  async drained(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.inFlight > 0 && !this.closed && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  /** Closes after what was written has gone out; nothing the peer sends after this is read. */
  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private arm(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.events.idle(this), ms);
    this.timer.unref();
  }

  private onData(chunk: Buffer): void {
    if (this.ending) return;
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (e) {
      // The next PDU's start is unknown: nothing more can be read from this connection.
      this.events.malformed(this, e as PduError, null, true);
      return;
    }
    if (this.bound) this.arm(this.timeouts.inactivityMs);
    for (const frame of frames) {
      if (this.closed || this.ending) return;
      let pdu: Pdu;
      try {
        pdu = decodePdu(frame);
      } catch (e) {
        if (!(e instanceof PduError)) throw e;
        this.events.malformed(this, e, frame.readUInt32BE(12), false);
        continue;
      }
      const waiting = pdu.command.endsWith('_resp') || pdu.command === 'generic_nack' ? this.waiting.get(pdu.sequence) : undefined;
      if (waiting) waiting(pdu);
      else this.events.pdu(this, pdu);
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const settle of [...this.waiting.values()]) settle(null);
    this.releaseBind?.();
    this.releaseBind = null;
    this.events.closed(this);
  }
}
