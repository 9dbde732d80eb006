import { Logger } from '@nestjs/common';
import { connect, PDU, type Session } from 'smpp';
import { coalesceWrites } from '@smsgw/sms';

export type BindCommand = 'bind_transceiver' | 'bind_transmitter' | 'bind_receiver';

/**
 * How a request ended: answered; not answered in time; connection closed after it was written
 * (the SMSC may have taken it); or never written at all.
 */
export type RequestOutcome = { kind: 'response'; pdu: PDU } | { kind: 'timeout' } | { kind: 'closed' } | { kind: 'unsent' };

export interface SmppSessionOptions {
  host: string;
  port: number;
  bind: BindCommand;
  systemId: string;
  password: string;
  systemType: string;
  /** For responses to our requests, the TCP connect and the bind. */
  timeoutMs: number;
  enquireLinkMs: number;
  /** For logs: `<connection name>/<role>`. */
  label: string;
  /** Handles a deliver_sm; resolves with the command_status to answer, after the effect is stored. */
  onDeliverSm(pdu: PDU): Promise<number>;
  /**
   * When the connection breaks (not after an unbind both sides answered): the deliver_sm answered
   * OK within `unconfirmedMs` before, or after it, whose answers the SMSC may not have had.
   */
  onUnconfirmed?(pdus: PDU[]): void;
  unconfirmedMs?: number;
}

/** command_status values this module sends or needs by name. */
export const ESME_ROK = 0x00;
export const ESME_RINVCMDID = 0x03;
/** SMPP 3.4: temporary application error; the SMSC retries the deliver_sm later. */
export const ESME_RX_T_APPN = 0x64;

const GENERIC_NACK = 0x80000000;
const UNBIND_TIMEOUT_MS = 2000;

/** The TCP connection failed, the SMSC refused the bind, or it did not answer in time. */
export class BindError extends Error {}

/**
 * One SMPP session to an SMSC on top of the `smpp` package's framing: connect and bind,
 * request/response matching with timeouts (the package's own callbacks never fire for a closed
 * connection), enquire_link keep-alive, answers to the SMSC's requests, unbind.
 */
export class SmppSession {
  private readonly log: Logger;
  private readonly pending = new Map<number, { resolve(outcome: RequestOutcome): void; timer: NodeJS.Timeout }>();
  private keepAlive: NodeJS.Timeout | null = null;
  private isBound = false;
  private isClosed = false;
  private readonly inboundInFlight = new Set<Promise<unknown>>();
  /** deliver_sm answered OK lately, oldest first from `answeredHead` (see `onUnconfirmed`). */
  private answered: Array<{ pdu: PDU; at: number }> = [];
  private answeredHead = 0;
  /** An unbind was answered, ours or the SMSC's: every answer sent before it reached the SMSC. */
  private unboundCleanly = false;
  /** We ended our side after the SMSC's unbind: an answer written from now on goes nowhere. */
  private ending = false;
  private onClosedResolve: () => void = () => undefined;
  /** Resolves when the TCP connection is gone, whoever ended it. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly session: Session,
    private readonly options: SmppSessionOptions,
  ) {
    this.log = new Logger(`SmppSession ${options.label}`);
    this.closed = new Promise((resolve) => (this.onClosedResolve = resolve));
    session.on('pdu', (pdu: PDU) => this.onPdu(pdu));
    // 'close' follows socket errors. A PDU the package cannot parse stops its reader for good:
    // drop the connection so that the link reconnects.
    session.on('error', (e: Error) => {
      // A refused connect is the link's to report (with its retry); errors of a live session are news.
      if (this.isBound) this.log.warn(`connection error: ${e.message}`);
      this.destroy();
    });
    session.on('close', () => this.onClose());
  }

  /** Connects and binds; rejects with BindError (and leaves nothing open) on any failure. */
  static open(options: SmppSessionOptions): Promise<SmppSession> {
    return new Promise<SmppSession>((resolve, reject) => {
      const raw = connect({ host: options.host, port: options.port });
      const s = new SmppSession(raw, options);
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        s.destroy();
        reject(new BindError(why));
      };
      const connectTimer = setTimeout(() => fail(`no TCP connection within ${options.timeoutMs} ms`), options.timeoutMs);
      void s.closed.then(() => fail('connection closed before the bind was answered'));
      raw.once('connect', () => {
        clearTimeout(connectTimer);
        raw.socket.setNoDelay(true);
        coalesceWrites(raw.socket);
        void s
          .request(options.bind, {
            system_id: options.systemId,
            password: options.password,
            system_type: options.systemType,
            interface_version: 0x34,
          })
          .then((outcome) => {
            if (outcome.kind === 'timeout') return fail('bind not answered in time');
            if (outcome.kind !== 'response') return fail('connection closed during the bind');
            if (outcome.pdu.command_status !== ESME_ROK) return fail(`bind refused with command_status 0x${outcome.pdu.command_status.toString(16)}`);
            if (settled) return;
            settled = true;
            s.isBound = true;
            s.startKeepAlive();
            resolve(s);
          });
      });
    });
  }

  get bound(): boolean {
    return this.isBound && !this.isClosed;
  }

  /** Sends a request; never rejects. */
  request(command: string, fields: Record<string, unknown> = {}, timeoutMs = this.options.timeoutMs): Promise<RequestOutcome> {
    if (this.isClosed) return Promise.resolve({ kind: 'unsent' });
    const pdu = new PDU(command, fields);
    if (!this.session.send(pdu)) return Promise.resolve({ kind: 'unsent' });
    const seq = pdu.sequence_number;
    return new Promise<RequestOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      timer.unref();
      this.pending.set(seq, { resolve, timer });
    });
  }

  /** Unbinds (waiting a little for the answer), then closes the connection. */
  async unbind(): Promise<void> {
    if (this.isClosed) return;
    this.stopKeepAlive();
    if (this.isBound) {
      this.isBound = false;
      const outcome = await this.request('unbind', {}, Math.min(this.options.timeoutMs, UNBIND_TIMEOUT_MS));
      this.unboundCleanly = outcome.kind === 'response';
    }
    this.destroy();
    await this.closed;
  }

  /** Waits for deliver_sm being handled, so their answers go out before the connection closes. */
  async drainInbound(): Promise<void> {
    while (this.inboundInFlight.size > 0) await Promise.allSettled([...this.inboundInFlight]);
  }

  destroy(): void {
    this.session.destroy();
  }

  private startKeepAlive(): void {
    this.keepAlive = setInterval(() => {
      void this.request('enquire_link').then((outcome) => {
        if (outcome.kind === 'timeout') {
          this.log.warn('enquire_link not answered: dropping the connection');
          this.destroy();
        }
      });
    }, this.options.enquireLinkMs);
    this.keepAlive.unref();
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }

  private onPdu(pdu: PDU): void {
    if (pdu.isResponse()) {
      const waiting = this.pending.get(pdu.sequence_number);
      if (waiting) {
        clearTimeout(waiting.timer);
        this.pending.delete(pdu.sequence_number);
        waiting.resolve({ kind: 'response', pdu });
      } else if (pdu.command_id !== GENERIC_NACK) {
        this.log.warn(`${pdu.command} ${pdu.sequence_number} answers nothing we are waiting for (late?)`);
      }
      return;
    }
    switch (pdu.command) {
      case 'deliver_sm':
        return this.handleDeliverSm(pdu);
      case 'enquire_link':
        return this.respond(pdu, ESME_ROK);
      case 'unbind':
        // The SMSC ends the session (maintenance, restart): answer, then close; the link rebinds.
        // It asked after reading what we sent before: no answer of ours is in doubt.
        this.isBound = false;
        this.unboundCleanly = true;
        this.respond(pdu, ESME_ROK);
        this.ending = true;
        this.session.socket.end();
        return;
      case 'alert_notification':
        return; // has no response
      default:
        return this.respond(pdu, ESME_RINVCMDID);
    }
  }

  private handleDeliverSm(pdu: PDU): void {
    const work = this.options
      .onDeliverSm(pdu)
      .catch((e: Error) => {
        this.log.error(`deliver_sm ${pdu.sequence_number} not stored, asking for a resend: ${e.message}`);
        return ESME_RX_T_APPN;
      })
      .then((status) => {
        if (status === ESME_ROK) this.noteAnswered(pdu);
        this.respond(pdu, status);
      });
    this.inboundInFlight.add(work);
    void work.finally(() => this.inboundInFlight.delete(work));
  }

  private noteAnswered(pdu: PDU): void {
    const { onUnconfirmed, unconfirmedMs = 0 } = this.options;
    if (!onUnconfirmed) return;
    // Answered after the connection broke or was ended: the answer goes nowhere.
    if (this.isClosed || this.ending) return onUnconfirmed([pdu]);
    const now = Date.now();
    this.answered.push({ pdu, at: now });
    while (this.answeredHead < this.answered.length && this.answered[this.answeredHead]!.at < now - unconfirmedMs) this.answeredHead++;
    if (this.answeredHead > 1024 && this.answeredHead * 2 > this.answered.length) {
      this.answered = this.answered.slice(this.answeredHead);
      this.answeredHead = 0;
    }
  }

  private respond(pdu: PDU, status: number): void {
    if (this.isClosed) return;
    this.session.send(pdu.response(status === ESME_ROK ? {} : { command_status: status }));
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.isBound = false;
    this.stopKeepAlive();
    const { onUnconfirmed, unconfirmedMs = 0 } = this.options;
    if (onUnconfirmed && !this.unboundCleanly) {
      const since = Date.now() - unconfirmedMs;
      const pdus = this.answered.slice(this.answeredHead).filter((a) => a.at >= since).map((a) => a.pdu);
      if (pdus.length > 0) onUnconfirmed(pdus);
    }
    this.answered = [];
    this.answeredHead = 0;
    for (const [seq, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(seq);
      p.resolve({ kind: 'closed' });
    }
    this.onClosedResolve();
  }
}
