import { useState } from 'preact/hooks';
import { get, type Me, query } from '../api';
import { time } from '../format';
import { Badge, Card, Empty, ErrorBox, Loading, Page, useData } from '../ui';

interface Mo {
  id: string;
  msisdn: string;
  serviceNumber: string;
  text: string;
  segments: number;
  complete: boolean;
  receivedAt: string;
  callbackDoneAt: string | null;
}

export function MoPage({ partnerId, me }: { partnerId: number; me: Me }) {
  const pid = me.role === 'operator' ? partnerId : undefined;
  const [msisdn, setMsisdn] = useState('');
  const [search, setSearch] = useState('');
  const [extra, setExtra] = useState<Mo[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const { data, error, loading } = useData(async () => {
    const r = await get<{ mo: Mo[]; next: string | null }>(`/api/mo${query({ msisdn: search, partnerId: pid })}`);
    setExtra([]);
    setNext(r.next);
    return r;
  }, [search, partnerId]);
  const rows = [...(data?.mo ?? []), ...extra];
  return (
    <Page title="Incoming messages (MO)" subtitle="What subscribers sent to your service numbers, newest first">
      <Card>
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setSearch(msisdn);
          }}
        >
          <label>
            Subscriber number
            <input value={msisdn} onInput={(e) => setMsisdn((e.target as HTMLInputElement).value)} placeholder="79036550550" />
          </label>
          <div class="filter-buttons">
            <button class="btn primary">Search</button>
          </div>
        </form>
      </Card>
      <ErrorBox error={error} />
      {loading && !data && <Loading />}
      {data && rows.length === 0 && (
        <Card>
          <Empty title="No incoming messages">Messages subscribers send to your service numbers show up here, and are pushed to your MO URL.</Empty>
        </Card>
      )}
      {rows.length > 0 && (
        <Card>
          <div class="table-wrap">
            <table data-testid="mo-table">
              <thead>
                <tr>
                  <th>Received</th>
                  <th>From</th>
                  <th>To</th>
                  <th>Text</th>
                  <th class="num">Seg.</th>
                  <th>Pushed to you</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((m) => (
                  <tr key={m.id}>
                    <td class="nowrap">{time(m.receivedAt)}</td>
                    <td class="nowrap">+{m.msisdn}</td>
                    <td>{m.serviceNumber}</td>
                    <td class="text">
                      {m.text} {!m.complete && <Badge tone="warn">incomplete</Badge>}
                    </td>
                    <td class="num">{m.segments}</td>
                    <td class="nowrap">{m.callbackDoneAt ? time(m.callbackDoneAt) : <Badge>pending</Badge>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {next && (
            <div class="pager">
              <button
                class="btn"
                onClick={async () => {
                  const r = await get<{ mo: Mo[]; next: string | null }>(`/api/mo${query({ msisdn: search, partnerId: pid, cursor: next })}`);
                  setExtra([...extra, ...r.mo]);
                  setNext(r.next);
                }}
              >
                Show more
              </button>
            </div>
          )}
        </Card>
      )}
    </Page>
  );
}
