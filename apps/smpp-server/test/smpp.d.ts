// The parts of the `smpp` npm package 0.5.1 (node-smpp, no types of its own) the tests use as a
// partner's client. The connector declares the parts it uses as an SMSC client in its own
// src/smpp.d.ts; this one is for this app's tests only (tsconfig.json, not the build). Field
// names are the SMPP specification's, as the library spells them.
declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  /**
   * A request or response: header fields, then mandatory parameters and TLVs by their SMPP names.
   * short_message and message_payload are encoded by data_coding when given as a string (0: GSM
   * 03.38, 8: UCS-2; none: the first of GSM, Latin-1, UCS-2 that fits), or taken as is when a
   * Buffer; `{ udh, message }` puts the User Data Header before the text and sets esm_class 0x40.
   * Received ones are decoded to `{ message, udh? }`.
   */
  export class PDU {
    constructor(command: string, options?: Record<string, unknown>);
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    [field: string]: unknown;
    isResponse(): boolean;
    response(options?: Record<string, unknown>): PDU;
  }

  type ResponseCallback = (pdu: PDU) => void;
  /** One request of the given command: the options are its fields; the callback gets its response. */
  type Request = (options: Record<string, unknown>, responseCallback?: ResponseCallback) => boolean;

  /** One SMPP connection. Emits 'connect', 'pdu' (every PDU read), the command's name, 'error' and 'close'. */
  export class Session extends EventEmitter {
    socket: Socket;
    send(pdu: PDU, responseCallback?: ResponseCallback): boolean;
    bind_transmitter: Request;
    bind_receiver: Request;
    bind_transceiver: Request;
    submit_sm: Request;
    data_sm: Request;
    query_sm: Request;
    cancel_sm: Request;
    enquire_link(responseCallback?: ResponseCallback): boolean;
    unbind(responseCallback?: ResponseCallback): boolean;
    /** Ends the connection after what was written. */
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
  }

  /** `url`: smpp://host:port; the other options go to net.connect (e.g. localAddress). */
  export function connect(options: { url: string; localAddress?: string } | { host: string; port: number; localAddress?: string }, listener?: () => void): Session;

  /** command_status values by name (ESME_ROK, ESME_RBINDFAIL, …). */
  export const errors: Record<string, number>;
}
