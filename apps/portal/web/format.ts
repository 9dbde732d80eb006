export const STATUS_NAMES: Record<string, string> = {
  '2': 'Delivered',
  '5': 'Not delivered',
  '0': 'Sent to operator',
  '1': 'Accepted',
  '8': 'Cancelled',
};

export const STATUS_COLORS: Record<string, string> = {
  '2': '#16a34a',
  '5': '#dc2626',
  '0': '#2563eb',
  '1': '#94a3b8',
  '8': '#d97706',
};

/** PROTOCOL §4 unifiedExtStatus for status 5. */
export const EXT_STATUS: Record<number, string> = {
  1: 'unknown error',
  2: 'expired (handset off or out of coverage)',
  3: 'handset blocked or barred',
  4: 'transport error',
  5: 'memory full',
  6: 'no SMS service',
  7: 'network not responding',
  8: 'invalid number',
  9: 'duplicate filter',
  10: 'platform filter',
  11: 'routing error',
  12: 'operator blacklist',
  13: 'sender not registered',
  14: 'operator spam filter',
  15: 'rejected by the operator',
  16: 'expired inside the platform',
};

const nf = new Intl.NumberFormat('en-US');
export const num = (n: number) => nf.format(n);
export const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);

/** A time in the browser's zone, to the second. */
export function time(v: string | null | undefined): string {
  if (!v) return '—';
  const d = new Date(v);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function dayISO(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return dayISO(new Date(y!, m! - 1, d! + n));
}
