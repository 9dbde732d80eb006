/**
 * A failure after which the same message may well go through later (no bind, a full window, an
 * SMSC that throttles or has a temporary fault, a lost connection, a database hiccup): the
 * message is retried with backoff until its valid_until.
 */
export class TemporaryError extends Error {
  constructor(
    message: string,
    /** Short label for the retries metric. */
    readonly reason: string = 'temporary',
  ) {
    super(message);
  }
}
