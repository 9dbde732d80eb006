import type { Socket } from 'node:net';

/**
 * Makes the writes a socket receives within one turn of the event loop go out as one `writev`
 * (one system call, one TCP segment where they fit) instead of one `write` each.
 *
 * An SMPP session writes one small PDU per submit_sm, response and receipt, and with Nagle off
 * (`setNoDelay`, which request/response protocols need) each is a system call of its own: under
 * load the connector spent about a sixth of its CPU in them. The first write of a turn corks the
 * socket and a `setImmediate` uncorks it once the turn's I/O callbacks and promise continuations
 * have run, so every PDU produced from the same batch of reads (or the same database result)
 * shares the flush. A single PDU waits for nothing longer than the rest of the current turn.
 */
export function coalesceWrites(socket: Socket): void {
  const write = socket.write;
  let corked = false;
  const flush = () => {
    corked = false;
    // Destroyed sockets discard pending data anyway; uncork on them is a no-op.
    socket.uncork();
  };
  socket.write = function coalescedWrite(this: Socket, ...args: Parameters<Socket['write']>) {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(flush);
    }
    return (write as (...a: Parameters<Socket['write']>) => boolean).apply(this, args);
  } as Socket['write'];
}
