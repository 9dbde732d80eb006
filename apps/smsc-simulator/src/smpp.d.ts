// Minimal declarations for the parts of `smpp` 0.5.1 (node-smpp, no types of its own) that the
// simulator and its tests use. Field names are the SMPP specification's, as the library spells them.
declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  /** A request or response: header fields, then mandatory parameters and TLVs by their SMPP names. */
  export class PDU {
    constructor(command: string, options?: Record<string, unknown>);
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    [field: string]: unknown;
    isResponse(): boolean;
    response(options?: Record<string, unknown>): PDU;
    /** Encodes the PDU; a non-zero command_status gives a header-only PDU, as SMPP 3.4 asks. */
    toBuffer(): Buffer;
  }

  export type PduCallback = (pdu: PDU) => void;

  /** One SMPP connection; used by the tests as the ESME side. */
  export class Session extends EventEmitter {
    socket: Socket;
    send(pdu: PDU, responseCallback?: PduCallback, sendCallback?: PduCallback): boolean;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
    bind_transceiver(options: Record<string, unknown>, responseCallback?: PduCallback): boolean;
    bind_transmitter(options: Record<string, unknown>, responseCallback?: PduCallback): boolean;
    bind_receiver(options: Record<string, unknown>, responseCallback?: PduCallback): boolean;
    submit_sm(options: Record<string, unknown>, responseCallback?: PduCallback): boolean;
    enquire_link(options: Record<string, unknown>, responseCallback?: PduCallback): boolean;
    unbind(options: Record<string, unknown>, responseCallback?: PduCallback): boolean;
  }

  export function connect(
    options: { host?: string; port?: number; url?: string; auto_enquire_link_period?: number },
    listener?: () => void,
  ): Session;
}
