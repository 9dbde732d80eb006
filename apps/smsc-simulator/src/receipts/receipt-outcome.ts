import type { OutcomeShare, ReceiptStat } from '../config';

/** A runtime rule: destinations ending in `suffix` get this outcome (`NONE`: no final receipt). */
export interface ReceiptRule {
  suffix: string;
  stat: ReceiptStat | 'NONE';
  err: number;
  /** Overrides the configured receipt delay for these destinations. */
  delayMs?: number;
}

/** PROTOCOL §8: the numbers partners use to test every branch. */
export const MAGIC_NUMBER_RULES: readonly ReceiptRule[] = [
  { suffix: '0005', stat: 'UNDELIV', err: 1 },
  { suffix: '0002', stat: 'EXPIRED', err: 0 },
  { suffix: '0000', stat: 'NONE', err: 0 },
];

export type ReceiptOutcome = { final: false } | { final: true; stat: ReceiptStat; err: number; delayMs: number | null };

/** The longest matching suffix wins, so a rule for `12345` beats one for `5`. */
function matchRule(rules: readonly ReceiptRule[], destination: string): ReceiptRule | undefined {
  let best: ReceiptRule | undefined;
  for (const rule of rules) {
    if (destination.endsWith(rule.suffix) && (!best || rule.suffix.length > best.suffix.length)) best = rule;
  }
  return best;
}

/** Runtime rules first, then the magic numbers, then a draw from the configured mix. */
export function chooseOutcome(
  destination: string,
  rules: readonly ReceiptRule[],
  mix: readonly OutcomeShare[],
  random: () => number,
): ReceiptOutcome {
  const rule = matchRule(rules, destination) ?? matchRule(MAGIC_NUMBER_RULES, destination);
  if (rule) {
    return rule.stat === 'NONE' ? { final: false } : { final: true, stat: rule.stat, err: rule.err, delayMs: rule.delayMs ?? null };
  }
  const total = mix.reduce((sum, s) => sum + s.weight, 0);
  let point = random() * total;
  const shares = mix.filter((s) => s.weight > 0);
  for (const share of shares) {
    point -= share.weight;
    if (point < 0) return { final: true, stat: share.stat, err: share.err, delayMs: null };
  }
  const last = shares[shares.length - 1];
  return { final: true, stat: last.stat, err: last.err, delayMs: null };
}

/**
 * registered_delivery bits 1-0 (SMPP 3.4 section 5.2.17): 1 = receipt on any final outcome,
 * 2 = on failure only; 3 is reserved in 3.4 and means "on success only" in SMPP 5.0.
 */
export function wantsReceipt(registeredDelivery: number, stat: ReceiptStat): boolean {
  switch (registeredDelivery & 0x03) {
    case 1:
      return true;
    case 2:
      return stat !== 'DELIVRD';
    case 3:
      return stat === 'DELIVRD';
    default:
      return false;
  }
}
