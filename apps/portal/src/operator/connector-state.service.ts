import { Inject, Injectable } from '@nestjs/common';
import { PORTAL_CONFIG, type PortalConfig } from '../config';

export interface LiveConnection {
  id: number;
  name: string;
  bound: boolean;
  sessions: Record<string, string>;
  window: number;
  outstanding: number;
  waiting: number;
  tps: number;
  /** accepted submit_sm per second since the previous look (null on the first look) */
  submitsPerSecond: number | null;
  /** receipts per second since the previous look */
  receiptsPerSecond: number | null;
  connector: string;
}

/** `name{labels} value` lines of a Prometheus text exposition, for one metric, summed by connection. */
export function sumByConnection(metrics: string, metric: string, filter: (labels: string) => boolean = () => true): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.indexOf('}');
    const labels = line.slice(metric.length + 1, close);
    if (!filter(labels)) continue;
    const conn = /connection="((?:[^"\\]|\\.)*)"/.exec(labels)?.[1];
    const value = Number(line.slice(close + 1).trim().split(' ')[0]);
    if (conn === undefined || !Number.isFinite(value)) continue;
    out.set(conn, (out.get(conn) ?? 0) + value);
  }
  return out;
}

/**
 * Live bind state from each connector's `/connections` and throughput from its `/metrics`
 * counters: the rate is the counter's growth since the previous look (the page polls).
 */
@Injectable()
export class ConnectorState {
  private previous = new Map<string, { at: number; submits: number; receipts: number }>();

  constructor(@Inject(PORTAL_CONFIG) private readonly config: PortalConfig) {}

  async live(): Promise<{ connections: LiveConnection[]; unreachable: string[] }> {
    const connections: LiveConnection[] = [];
    const unreachable: string[] = [];
    await Promise.all(
      this.config.CONNECTOR_URLS.map(async (base) => {
        try {
          const [c, m] = await Promise.all([
            fetch(`${base}/connections`, { signal: AbortSignal.timeout(1500) }).then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`)))),
            fetch(`${base}/metrics`, { signal: AbortSignal.timeout(1500) }).then((r) => (r.ok ? r.text() : '')),
          ]);
          const submits = sumByConnection(m, 'smsgw_smsc_submits_total', (l) => l.includes('result="accepted"'));
          const receipts = sumByConnection(m, 'smsgw_smsc_receipts_total');
          const now = Date.now();
          for (const s of (c as { connections: Omit<LiveConnection, 'submitsPerSecond' | 'receiptsPerSecond' | 'connector'>[] }).connections) {
            const key = `${base}|${s.name}`;
            const cur = { at: now, submits: submits.get(s.name) ?? 0, receipts: receipts.get(s.name) ?? 0 };
            const prev = this.previous.get(key);
            const secs = prev ? (now - prev.at) / 1000 : 0;
            this.previous.set(key, cur);
            const rate = (a: number, b: number) => (prev && secs >= 0.5 && a >= b ? Math.round(((a - b) / secs) * 10) / 10 : null);
            connections.push({ ...s, connector: base, submitsPerSecond: rate(cur.submits, prev?.submits ?? 0), receiptsPerSecond: rate(cur.receipts, prev?.receipts ?? 0) });
          }
        } catch {
          unreachable.push(base);
        }
      }),
    );
    return { connections, unreachable };
  }
}
