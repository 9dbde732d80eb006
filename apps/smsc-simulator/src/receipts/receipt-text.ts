import type { ReceiptStat } from '../config';

/** `YYMMDDhhmm` in UTC, the receipt's date format. */
export function receiptDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

export interface ReceiptFields {
  id: string;
  stat: ReceiptStat;
  err: number;
  submitDate: Date;
  doneDate: Date;
  /** The submitted message's text, if it had one. */
  text: string | null;
}

/**
 * The de-facto standard receipt text (SMPP 3.4 appendix B). The `text:` part keeps the first 20
 * characters, with anything outside printable ASCII replaced by `?`: the receipt is sent as plain
 * ASCII in data_coding 0, as most SMSCs do.
 */
export function formatReceiptText(r: ReceiptFields): string {
  const text = [...(r.text ?? '')]
    .slice(0, 20)
    .map((ch) => (/^[\x20-\x7e]$/.test(ch) ? ch : '?'))
    .join('');
  const dlvrd = r.stat === 'DELIVRD' ? '001' : '000';
  return (
    `id:${r.id} sub:001 dlvrd:${dlvrd} submit date:${receiptDate(r.submitDate)} done date:${receiptDate(r.doneDate)} ` +
    `stat:${r.stat} err:${String(r.err).padStart(3, '0')} text:${text}`
  );
}
