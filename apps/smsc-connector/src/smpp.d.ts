// The parts of `smpp` 0.5.1 (node-smpp, no types of its own) the connector uses. Field names are
// the SMPP specification's, as the library spells them.
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
    /** The response to this request, same sequence number; `generic_nack` for an unknown command. */
    response(options?: Record<string, unknown>): PDU;
  }

  /**
   * One SMPP connection. Emits 'connect', 'pdu' (every PDU read), 'error' and 'close'. `send`
   * numbers a request that has no sequence_number yet and returns false when the socket is not
   * writable.
   */
  export class Session extends EventEmitter {
    socket: Socket;
    send(pdu: PDU): boolean;
    destroy(callback?: () => void): void;
  }

  export function connect(options: { host: string; port: number }): Session;
}
