import { useState } from 'preact/hooks';
import { get, type Me, query } from '../api';
import { EXT_STATUS, STATUS_NAMES, time } from '../format';
import { link, navigate } from '../router';
import { Badge, Card, Empty, ErrorBox, Loading, Page, useData } from '../ui';

export interface MessageRow {
  id: string;
  partnerMsgId: string | null;
  ptag: string | null;
  sender: string;
  msisdn: string;
  text: string;
  segments: number;
  status: number;
  extStatus: number | null;
  test: boolean;
  createdAt: string;
  doneAt: string | null;
}

const FIELDS = ['id', 'partnerMsgId', 'msisdn', 'sender', 'status', 'from', 'to'] as const;
type Filter = Partial<Record<(typeof FIELDS)[number], string>>;

export function StatusBadge({ status, ext }: { status: number; ext?: number | null }) {
  const tone = status === 2 ? 'good' : status === 5 ? 'bad' : status === 8 ? 'warn' : status === 0 ? 'info' : '';
  return (
    <Badge tone={tone}>
      {STATUS_NAMES[String(status)] ?? status}
      {status === 5 && ext ? <span title={EXT_STATUS[ext]}> · {ext}</span> : null}
    </Badge>
  );
}

export function MessagesPage({ partnerId, me, params }: { partnerId: number; me: Me; params: URLSearchParams }) {
  const filter: Filter = {};
  for (const f of FIELDS) if (params.get(f)) filter[f] = params.get(f)!;
  const [form, setForm] = useState<Filter>(filter);
  const [pages, setPages] = useState<MessageRow[][]>([]);
  const [next, setNext] = useState<string | null>(null);
  const pid = me.role === 'operator' ? partnerId : undefined;
  const key = JSON.stringify(filter);
  const first = useData(async () => {
    const r = await get<{ messages: MessageRow[]; next: string | null }>(`/api/messages${query({ ...filter, partnerId: pid })}`);
    setPages([r.messages]);
    setNext(r.next);
    return r;
  }, [key, partnerId]);
  const [moreError, setMoreError] = useState<unknown>(null);
  const rows = pages.flat();
  const set = (k: keyof Filter) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });

  return (
    <Page
      title="Messages"
      subtitle="Find a message by its id, your partnerMsgId, the number, sender, status or period"
      actions={
        <a class="btn" href={`/api/messages/export.csv${query({ ...filter, partnerId: pid })}`} download data-testid="export-csv">
          Export CSV
        </a>
      }
    >
      <Card>
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(`/messages${query(form)}`);
          }}
        >
          <label>
            Message id
            <input name="id" inputMode="numeric" value={form.id ?? ''} onInput={set('id')} placeholder="1000" />
          </label>
          <label>
            partnerMsgId
            <input name="partnerMsgId" value={form.partnerMsgId ?? ''} onInput={set('partnerMsgId')} />
          </label>
          <label>
            Number
            <input name="msisdn" inputMode="tel" value={form.msisdn ?? ''} onInput={set('msisdn')} placeholder="79036550550" />
          </label>
          <label>
            Sender
            <input name="sender" value={form.sender ?? ''} onInput={set('sender')} />
          </label>
          <label>
            Status
            <select name="status" value={form.status ?? ''} onChange={set('status')}>
              <option value="">any</option>
              {Object.entries(STATUS_NAMES).map(([k, v]) => (
                <option key={k} value={k}>
                  {k} — {v}
                </option>
              ))}
            </select>
          </label>
          <label>
            From
            <input name="from" type="date" value={form.from ?? ''} onInput={set('from')} />
          </label>
          <label>
            To
            <input name="to" type="date" value={form.to ?? ''} onInput={set('to')} />
          </label>
          <div class="filter-buttons">
            <button class="btn primary" type="submit">
              Search
            </button>
            <button
              class="btn ghost"
              type="button"
              onClick={() => {
                setForm({});
                navigate('/messages');
              }}
            >
              Clear
            </button>
          </div>
        </form>
      </Card>

      <ErrorBox error={first.error} />
      {first.loading && rows.length === 0 && <Loading />}
      {!first.loading && !first.error && rows.length === 0 && (
        <Card>
          <Empty title={Object.keys(filter).length ? 'No message matches' : 'No messages yet'}>
            {Object.keys(filter).length ? 'Check the number or widen the period.' : 'Messages you send through the API appear here at once.'}
          </Empty>
        </Card>
      )}
      {rows.length > 0 && (
        <Card>
          <div class="table-wrap">
            <table class="messages" data-testid="messages-table">
              <thead>
                <tr>
                  <th>Id</th>
                  <th>Accepted</th>
                  <th>Number</th>
                  <th>Sender</th>
                  <th>Text</th>
                  <th class="num">Seg.</th>
                  <th>Status</th>
                  <th>partnerMsgId</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((m) => (
                  <tr key={m.id} class="clickable" onClick={() => navigate(`/messages/${m.id}`)}>
                    <td>
                      <a {...link(`/messages/${m.id}`)} onClick={(e) => e.stopPropagation()}>
                        {m.id}
                      </a>
                    </td>
                    <td class="nowrap">{time(m.createdAt)}</td>
                    <td class="nowrap">+{m.msisdn}</td>
                    <td>{m.sender}</td>
                    <td class="text" title={m.text}>
                      {m.test && <Badge tone="warn">test</Badge>} {m.text}
                    </td>
                    <td class="num">{m.segments}</td>
                    <td>
                      <StatusBadge status={m.status} ext={m.extStatus} />
                    </td>
                    <td class="muted">{m.partnerMsgId ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <ErrorBox error={moreError} />
          <div class="pager">
            <span class="muted">{rows.length} shown, newest first</span>
            {next && (
              <button
                class="btn"
                onClick={async () => {
                  try {
                    const r = await get<{ messages: MessageRow[]; next: string | null }>(`/api/messages${query({ ...filter, partnerId: pid, cursor: next })}`);
                    setPages([...pages, r.messages]);
                    setNext(r.next);
                  } catch (e) {
                    setMoreError(e);
                  }
                }}
              >
                Show more
              </button>
            )}
          </div>
        </Card>
      )}
    </Page>
  );
}
