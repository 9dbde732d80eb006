import { useState } from 'preact/hooks';
import { get, type Me, post, query } from '../api';
import { time } from '../format';
import { link } from '../router';
import { Badge, Card, Empty, ErrorBox, Loading, Page, Stat, useData } from '../ui';

interface Cb {
  id: string;
  kind: 'dlr' | 'mo';
  messageId: string | null;
  status: number | null;
  moId: string | null;
  state: string;
  attempts: number;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  lastResult: string | null;
  parkedAt: string | null;
  resends: number;
}

export function CallbacksPage({ partnerId, me }: { partnerId: number; me: Me }) {
  const pid = me.role === 'operator' ? partnerId : undefined;
  const [parkedOnly, setParkedOnly] = useState(true);
  const [notice, setNotice] = useState('');
  const [err, setErr] = useState<unknown>(null);
  const { data, error, loading, reload } = useData(() => get<{ callbacks: Cb[]; counts: Record<string, number> }>(`/api/callbacks${query({ state: parkedOnly ? 'parked' : '', partnerId: pid })}`), [parkedOnly, partnerId]);
  const parked = data?.counts.parked ?? 0;
  return (
    <Page
      title="Callbacks"
      subtitle="Delivery reports and MO pushes to your URLs that needed retries. Parked ones ran out of retries (72 h) and wait for you."
      actions={
        <button
          class="btn primary"
          disabled={parked === 0}
          data-testid="resend-all"
          onClick={async () => {
            setErr(null);
            try {
              const r = await post<{ resent: number }>('/api/callbacks/resend', { partnerId: pid });
              setNotice(`${r.resent} callback${r.resent === 1 ? '' : 's'} queued again; they are sent within seconds with a fresh retry period.`);
              reload();
            } catch (e) {
              setErr(e);
            }
          }}
        >
          Re-send all parked ({parked})
        </button>
      }
    >
      {notice && <div class="alert success">{notice}</div>}
      <ErrorBox error={err ?? error} />
      <div class="stats small">
        <Stat label="Parked" value={parked} tone={parked ? 'bad' : ''} />
        <Stat label="Retrying" value={data?.counts.pending ?? 0} />
        <Stat label="Delivered after retries" value={data?.counts.delivered ?? 0} tone="good" />
      </div>
      <Card
        actions={
          <label class="check">
            <input type="checkbox" checked={parkedOnly} onChange={(e) => setParkedOnly((e.target as HTMLInputElement).checked)} /> parked only
          </label>
        }
        title={parkedOnly ? 'Parked callbacks' : 'Recent callbacks with retries'}
      >
        {loading && !data && <Loading />}
        {data && data.callbacks.length === 0 && <Empty title={parkedOnly ? 'Nothing parked' : 'No retries so far'}>Every report reached your endpoint{parkedOnly ? ' or is still being retried' : ' at its first attempt'}.</Empty>}
        {data && data.callbacks.length > 0 && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>What</th>
                  <th>State</th>
                  <th class="num">Attempts</th>
                  <th>Last attempt</th>
                  <th>Last result</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {data.callbacks.map((c) => (
                  <tr key={c.id}>
                    <td>{c.kind === 'dlr' ? <a {...link(`/messages/${c.messageId}`)}>report for {c.messageId} (status {c.status})</a> : `MO ${c.moId}`}</td>
                    <td>
                      <Badge tone={c.state === 'parked' ? 'bad' : c.state === 'delivered' ? 'good' : 'info'}>{c.state}</Badge>
                    </td>
                    <td class="num">{c.attempts}</td>
                    <td class="nowrap">{time(c.lastAttemptAt)}</td>
                    <td>{c.lastResult ?? '—'}</td>
                    <td>
                      {c.state === 'parked' && (
                        <button
                          class="btn small"
                          onClick={async () => {
                            try {
                              await post('/api/callbacks/resend', { partnerId: pid, ids: [c.id] });
                              setNotice(`Callback ${c.id} queued again.`);
                              reload();
                            } catch (e) {
                              setErr(e);
                            }
                          }}
                        >
                          Re-send
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </Page>
  );
}
