import { get, type Me, query } from '../api';
import { EXT_STATUS, time } from '../format';
import { link } from '../router';
import { Card, ErrorBox, Loading, Page, useData } from '../ui';
import { type MessageRow, StatusBadge } from './messages';

interface Timeline {
  message: MessageRow & { releaseAt: string | null; validUntil: string; priority: number; flash: boolean; smscName: string | null; encoding: number; submittedAt: string | null };
  parts: { seq: number; smscName: string | null; smscMessageId: string | null; status: number; extStatus: number | null; submittedAt: string | null; doneAt: string | null }[];
  callbackAttempts: { attempt: number; status: number | null; attemptedAt: string; url: string; httpStatus: number | null; error: string | null; durationMs: number | null }[];
  events: { at: string; kind: string; title: string; detail?: string; ok?: boolean }[];
}

export function MessagePage({ partnerId, me, id }: { partnerId: number; me: Me; id: string }) {
  const pid = me.role === 'operator' ? partnerId : undefined;
  const { data, error, loading } = useData(() => get<Timeline>(`/api/messages/${encodeURIComponent(id)}${query({ partnerId: pid })}`), [id, partnerId]);
  const m = data?.message;
  return (
    <Page title={`Message ${id}`} subtitle={<a {...link('/messages')}>← All messages</a>}>
      <ErrorBox error={error} />
      {loading && <Loading />}
      {m && data && (
        <div class="grid two wide-left">
          <Card title="Timeline">
            <ol class="timeline" data-testid="timeline">
              {data.events.map((e, i) => (
                <li key={i} class={`ev ${e.kind} ${e.ok === true ? 'ok' : e.ok === false ? 'fail' : ''}`}>
                  <span class="dot" />
                  <div>
                    <div class="ev-title">{e.title}</div>
                    <div class="muted small">{time(e.at)}</div>
                    {e.detail && <div class="ev-detail">{e.detail}</div>}
                    {e.kind === 'final' && m.status === 5 && m.extStatus ? <div class="ev-detail">{EXT_STATUS[m.extStatus]}</div> : null}
                  </div>
                </li>
              ))}
            </ol>
          </Card>
          <Card title="Message">
            <dl class="props">
              <dt>Status</dt>
              <dd>
                <StatusBadge status={m.status} ext={m.extStatus} />
                {m.status === 5 && m.extStatus ? <div class="muted small">{EXT_STATUS[m.extStatus]}</div> : null}
              </dd>
              <dt>Number</dt>
              <dd>+{m.msisdn}</dd>
              <dt>Sender</dt>
              <dd>{m.sender}</dd>
              <dt>{m.encoding === 0 || m.encoding === 8 ? 'Text' : 'Data (hex)'}</dt>
              <dd class="pre">{m.text}</dd>
              <dt>Segments</dt>
              <dd>
                {m.segments} ({m.encoding === 8 ? 'UCS-2' : m.encoding === 0 ? 'GSM-7' : `8-bit data, data_coding 0x${m.encoding.toString(16).padStart(2, '0')}`})
              </dd>
              <dt>partnerMsgId</dt>
              <dd>{m.partnerMsgId ?? '—'}</dd>
              <dt>ptag</dt>
              <dd>{m.ptag ?? '—'}</dd>
              <dt>Accepted</dt>
              <dd>{time(m.createdAt)}</dd>
              <dt>Valid until</dt>
              <dd>{time(m.validUntil)}</dd>
              <dt>Operator link</dt>
              <dd>{m.smscName ?? '—'}</dd>
              {m.test && (
                <>
                  <dt>Mode</dt>
                  <dd>test</dd>
                </>
              )}
            </dl>
            {data.parts.length > 0 && (
              <>
                <h3>Segments</h3>
                <div class="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th>#</th>
                        <th>SMSC id</th>
                        <th>Submitted</th>
                        <th>Receipt</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.parts.map((p) => (
                        <tr key={p.seq}>
                          <td>{p.seq}</td>
                          <td>{p.smscMessageId ?? '—'}</td>
                          <td class="nowrap">{time(p.submittedAt)}</td>
                          <td class="nowrap">{p.doneAt ? <StatusBadge status={p.status} ext={p.extStatus} /> : '—'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </>
            )}
          </Card>
        </div>
      )}
    </Page>
  );
}
