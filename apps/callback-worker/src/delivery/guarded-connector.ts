import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';
import { bareHost, CallbackTargetRefused, refusedAddressReason, resolveCallbackHost, systemResolver, type Resolver } from '@smsgw/sms';

export interface GuardOptions {
  /** Connect timeout (lookup included), ms. */
  timeout: number;
  /** Tests give their own; default: getaddrinfo, as Node would use. */
  resolve?: Resolver;
  /**
   * Why an address is refused (null: allowed); default `refusedAddressReason`. Tests of the
   * connection plumbing let a local server stand in for a public one.
   */
  classify?: (address: string) => string | null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * An undici connector that connects to checked addresses only (the connect-time half of the
 * callback target policy, @smsgw/sms callback-target.ts):
 *
 * - A host name is resolved by the `lookup` given to net/tls.connect, once per connection; every
 *   address it has is checked, and the addresses handed back to Node are exactly the checked
 *   ones. There is no second lookup for DNS to answer differently (rebinding), and SNI, the
 *   certificate check and the Host header keep the name.
 * - Node skips `lookup` for an IP literal, so literals are checked before connecting. WHATWG URL
 *   has already turned odd IPv4 spellings (2130706433, 0x7f.1, 127.1) into dotted decimal.
 * - Once connected, the socket's remote address is checked again: should any path around the
 *   lookup exist (a future Node, an option), the connection is closed before a byte is sent.
 *
 * A refusal fails the connection with a CallbackTargetRefused, which the sender records like any
 * connection error (and retries: a DNS change may fix it).
 */
export function guardedConnector(opts: GuardOptions): buildConnector.connector {
  const resolve = opts.resolve ?? systemResolver;
  const classify = opts.classify ?? refusedAddressReason;
  const lookup = (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolveCallbackHost(hostname, resolve, classify).then(
      (all) => {
        const wanted = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
        if (wanted.length === 0) return callback(Object.assign(new Error(`${hostname}: no IPv${String(options.family)} address`), { code: 'ENOTFOUND' }), []);
        if (options.all) return callback(null, wanted);
        callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (e: NodeJS.ErrnoException) => callback(e, []),
    );
  };
  const connect = buildConnector({ timeout: opts.timeout, lookup });

  return (options, callback) => {
    const host = bareHost(options.hostname);
    if (isIP(host)) {
      const reason = classify(host);
      if (reason) {
        // Asynchronously, as a socket's connect error would come.
        queueMicrotask(() => callback(new CallbackTargetRefused(host, host, reason), null));
        return;
      }
    }
    connect(options, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('no socket'), null);
      const remote = socket.remoteAddress;
      const reason = remote ? classify(remote) : 'an unknown address';
      if (reason) {
        socket.destroy();
        return callback(new CallbackTargetRefused(host, remote ?? null, reason), null);
      }
      callback(null, socket);
    });
  };
}
