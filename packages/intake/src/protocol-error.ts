/**
 * A partner-caused or platform failure with its protocol code (PROTOCOL: 400, 402, 406, 408, 409,
 * 414, 500, 503). The HTTP API answers it in the format the request asked for; the SMPP server
 * answers the command_status closest to it (docs/protocol.md, SMPP section).
 */
export class ProtocolError extends Error {
  constructor(
    readonly code: number,
    readonly text: string,
  ) {
    super(text);
  }
}
