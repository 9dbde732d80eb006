import type { Role } from '../auth/session';

/**
 * What a partner user is told of any callback attempt that got no HTTP answer. The worker's own
 * texts (connection refused, reset, connect timeout, host not found, refused by the callback
 * target policy, with addresses) and how long the attempt took tell open, closed and filtered
 * ports apart: shown to whoever can set a callback URL, the timeline would be a port scanner for
 * the platform's network. Operators see the worker's text.
 */
export const NEUTRAL_NETWORK_ERROR = 'could not connect';

/**
 * Worker texts that are about the platform's own handling, not about the network: shown as they
 * are. Reports and MO over SMPP (`smpp:`) fail for the partner's own binds (none bound, its
 * deliver_sm_resp, its timeout), which it should see; an SMPP server the worker could not reach
 * is ours, and reads as a network failure. Everything else without an HTTP status is taken to be
 * a network-level failure.
 */
const NOT_NETWORK = /^(?:(?:invalid (?:status|MO) URL|not attempted|reply not sent|no SMPP receiver bind)\b|smpp: )/;

function isNetworkError(error: string): boolean {
  return !NOT_NETWORK.test(error);
}

export interface AttemptView {
  httpStatus: number | null;
  error: string | null;
  durationMs: number | null;
}

/** A callback_attempt row as `role` may see it: for partner users, network failures neutral and untimed. */
export function attemptFor<T extends AttemptView>(role: Role, a: T): T {
  if (role === 'operator' || a.httpStatus !== null || a.error === null || !isNetworkError(a.error)) return a;
  return { ...a, error: NEUTRAL_NETWORK_ERROR, durationMs: null };
}

/** callback.last_result (an HTTP status, or the worker's text) as `role` may see it. */
export function lastResultFor(role: Role, lastResult: string | null): string | null {
  if (role === 'operator' || lastResult === null || /^\d{3}$/.test(lastResult) || /^HTTP \d{3}$/.test(lastResult) || !isNetworkError(lastResult)) return lastResult;
  return NEUTRAL_NETWORK_ERROR;
}
