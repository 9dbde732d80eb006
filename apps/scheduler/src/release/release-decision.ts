import { nextWindowOpening } from '@smsgw/sms';

/** A held message found due (release_at <= now). */
export interface DueMessage {
  releaseAt: Date;
  validUntil: Date;
  /** sending_time hours in windowZone, when the message has a delivery window. */
  windowStart: number | null;
  windowEnd: number | null;
  windowZone: string | null;
}

export type ReleaseDecision =
  | { kind: 'release' }
  /** Validity ran out before it could be handed over: 5 / 16. */
  | { kind: 'expire' }
  /** Its window is closed now: wait until `until` (the next opening, or valid_until if that comes first). */
  | { kind: 'wait'; until: Date };

/**
 * What to do with a due message at `now`. The ingress stored `release_at` as the send time or
 * the window's next opening (computed with DST rules in the window's zone). Released on time
 * (within `slackMs` of release_at) it goes as stored, which also honours an opening the ingress
 * put at the first instant after a skipped hour. Released late (the scheduler was down) a
 * windowed message goes only if its window is open now; otherwise it waits for the next
 * opening, and a message whose validity ends first waits until then and expires.
 */
export function decideRelease(m: DueMessage, now: Date, slackMs: number): ReleaseDecision {
  if (m.validUntil.getTime() <= now.getTime()) return { kind: 'expire' };
  if (m.windowStart === null || m.windowEnd === null || m.windowZone === null) return { kind: 'release' };
  if (now.getTime() < m.releaseAt.getTime() + slackMs) return { kind: 'release' };
  let opening: Date;
  try {
    opening = nextWindowOpening(now, m.windowStart, m.windowEnd, m.windowZone);
  } catch {
    return { kind: 'release' }; // a zone this code cannot read: better sent than stuck
  }
  if (opening.getTime() <= now.getTime()) return { kind: 'release' };
  return { kind: 'wait', until: opening.getTime() < m.validUntil.getTime() ? opening : m.validUntil };
}
