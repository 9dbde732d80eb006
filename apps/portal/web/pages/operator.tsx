import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, type Me, patch, post, query } from '../api';
import { num, time } from '../format';
import { link, navigate } from '../router';
import { Badge, Card, Empty, ErrorBox, Loading, Page, RotateApiPassword, Secret, useData, usePoll } from '../ui';
import { invalidatePartners } from './partner-picker';
import type { PartnerSettings } from './settings';
import { SmppBindsCard } from './smpp-binds';
import { SmppPasswordCard } from './smpp-password';

interface SchemaField {
  field: string;
  option: string;
  description: string;
  required?: boolean;
}

const BOOLEAN = new Set(['dynamicSignature', 'pollingEnabled', 'intermediateReports', 'postponedEnabled', 'duplicateFilter', 'testMode', 'testRealDelivery', 'enabled']);
const NUMBER = new Set(['rateLimit', 'validityMinutes', 'postponedHorizonDays', 'duplicateMax', 'duplicateWindowHours', 'callbackConcurrency', 'testQuota', 'port', 'tps', 'window', 'priority']);
const LABELS: Record<string, string> = {
  name: 'Display name',
  status: 'State',
  allowedIps: 'Allowed IPs / CIDR',
  senders: 'Senders',
  defaultSender: 'Default sender',
  dynamicSignature: 'Any sender (dynamic signature)',
  statusUrl: 'Status URL (delivery reports)',
  moUrl: 'MO URL',
  pollingEnabled: 'May poll /status',
  intermediateReports: 'Intermediate reports (status 0)',
  requestParamNames: 'Request parameter names',
  callbackParamNames: 'Callback parameter names',
  rateLimit: 'Rate limit, msg/s',
  validityMinutes: 'Validity, minutes',
  postponedEnabled: 'Postponed delivery (send_at)',
  postponedHorizonDays: 'Postponed horizon, days',
  timeZone: 'Time zone',
  defaultCountry: 'Default country',
  duplicateFilter: 'Duplicate filter',
  duplicateMax: 'Duplicates allowed',
  duplicateWindowHours: 'Duplicate window, hours',
  callbackConcurrency: 'Callback concurrency',
  moOrder: 'MO order (partner or subscriber)',
  signingSecret: 'Signing secret',
  testMode: 'Test mode',
  testQuota: 'Test quota, messages',
  testEndsAt: 'Test period ends',
  testRealDelivery: 'Test messages really delivered',
  host: 'Host',
  port: 'Port',
  systemId: 'system_id',
  password: 'Password',
  systemType: 'system_type',
  bindMode: 'Bind mode',
  tps: 'Throughput, submit_sm/s',
  window: 'Window',
  routes: 'Routes (number prefixes)',
  priority: 'Priority',
  enabled: 'Enabled',
};
const GROUPS: [string, string[]][] = [
  ['General', ['name', 'status', 'allowedIps', 'rateLimit', 'timeZone', 'defaultCountry', 'pollingEnabled']],
  ['Senders', ['senders', 'defaultSender', 'dynamicSignature']],
  ['Callbacks', ['statusUrl', 'moUrl', 'moOrder', 'intermediateReports', 'callbackConcurrency', 'signingSecret', 'callbackParamNames']],
  ['Request', ['requestParamNames', 'validityMinutes', 'postponedEnabled', 'postponedHorizonDays', 'duplicateFilter', 'duplicateMax', 'duplicateWindowHours']],
  ['Test mode', ['testMode', 'testQuota', 'testEndsAt', 'testRealDelivery']],
];

/** A setting as the form shows it (the API takes the same text, as the CLI does). */
function asText(field: string, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'object') return Object.entries(v as Record<string, string>).map(([k, x]) => `${k}=${x}`).join(', ');
  if (field === 'testEndsAt' && typeof v === 'string') return v;
  return String(v);
}

function SettingInput({ f, value, onChange, error }: { f: SchemaField; value: string; onChange: (v: string) => void; error?: string }) {
  const id = `f-${f.field}`;
  let input;
  if (BOOLEAN.has(f.field)) {
    return (
      <div class={`field checkbox ${error ? 'invalid' : ''}`}>
        <label>
          <input id={id} name={f.field} type="checkbox" checked={value === 'true'} onChange={(e) => onChange((e.target as HTMLInputElement).checked ? 'true' : 'false')} /> {LABELS[f.field] ?? f.field}
        </label>
        <small class="muted">{f.description}</small>
        {error && <small class="err">{error}</small>}
      </div>
    );
  }
  if (f.field === 'status') {
    input = (
      <select id={id} name={f.field} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="active">active</option>
        <option value="blocked">blocked</option>
      </select>
    );
  } else if (f.field === 'bindMode') {
    input = (
      <select id={id} name={f.field} value={value || 'transceiver'} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="transceiver">transceiver</option>
        <option value="transmitter_receiver">transmitter + receiver</option>
      </select>
    );
  } else {
    input = (
      <input
        id={id}
        name={f.field}
        type={(f.field === 'password' ? 'password' : NUMBER.has(f.field) ? 'number' : 'text') as 'text'}
        value={value}
        placeholder={f.field === 'signingSecret' ? 'unchanged; "generate" for a new one, "none" to clear' : f.field === 'password' ? 'unchanged' : ''}
        onInput={(e) => onChange((e.target as HTMLInputElement).value)}
      />
    );
  }
  return (
    <div class={`field ${error ? 'invalid' : ''}`}>
      <label for={id}>{LABELS[f.field] ?? f.field}</label>
      {input}
      <small class="muted">{f.description}</small>
      {error && <small class="err">{error}</small>}
    </div>
  );
}

interface PartnerRow {
  id: number;
  login: string;
  name: string;
  status: string;
  rateLimit: number;
  testMode: boolean;
  senders: string[];
  statusUrl: string | null;
}

export function PartnersPage({ onOpen }: { onOpen: (id: number) => void }) {
  const { data, error, loading } = useData(() => get<PartnerRow[]>('/api/operator/partners'), []);
  const [login, setLogin] = useState('');
  const [err, setErr] = useState<unknown>(null);
  const [created, setCreated] = useState<{ id: number; login: string; password: string } | null>(null);
  return (
    <Page title="Partners" subtitle="The businesses that send SMS. Open one to change its settings.">
      {created && (
        <Secret
          label={`API password of ${created.login}`}
          value={created.password}
          onClose={() => {
            navigate(`/operator/partners/${created.id}`);
          }}
        />
      )}
      <Card title="New partner">
        <form
          class="row"
          onSubmit={async (e) => {
            e.preventDefault();
            setErr(null);
            try {
              const r = await post<{ partner: { id: number; login: string }; password: string }>('/api/operator/partners', { login, settings: {} });
              invalidatePartners();
              setCreated({ id: r.partner.id, login: r.partner.login, password: r.password });
              setLogin('');
            } catch (e2) {
              setErr(e2);
            }
          }}
        >
          <input name="login" placeholder="login (serviceId), e.g. acme" value={login} onInput={(e) => setLogin((e.target as HTMLInputElement).value)} required />
          <button class="btn primary">Create</button>
        </form>
        <ErrorBox error={err} />
      </Card>
      <ErrorBox error={error} />
      {loading && <Loading />}
      {data && data.length === 0 && <Empty title="No partners yet">Create the first one above.</Empty>}
      {data && data.length > 0 && (
        <Card>
          <div class="table-wrap">
            <table data-testid="partners-table">
              <thead>
                <tr>
                  <th class="num">#</th>
                  <th>Login</th>
                  <th>Name</th>
                  <th>State</th>
                  <th class="num">Rate/s</th>
                  <th>Senders</th>
                  <th>Status URL</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {data.map((p) => (
                  <tr key={p.id} class="clickable" onClick={() => navigate(`/operator/partners/${p.id}`)}>
                    <td class="num">{p.id}</td>
                    <td>
                      <a {...link(`/operator/partners/${p.id}`)} onClick={(e) => e.stopPropagation()}>
                        {p.login}
                      </a>
                    </td>
                    <td>{p.name}</td>
                    <td>
                      {p.status === 'active' ? <Badge tone="good">active</Badge> : <Badge tone="bad">blocked</Badge>} {p.testMode && <Badge tone="warn">test</Badge>}
                    </td>
                    <td class="num">{num(p.rateLimit)}</td>
                    <td>{p.senders.join(', ')}</td>
                    <td class="text break">{p.statusUrl ?? <span class="muted">—</span>}</td>
                    <td>
                      <button
                        class="btn small ghost"
                        onClick={(e) => {
                          e.stopPropagation();
                          onOpen(p.id);
                          navigate('/');
                        }}
                      >
                        Dashboard
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
    </Page>
  );
}

export function PartnerEditPage({ id, onOpen }: { id: string; onOpen: (id: number) => void }) {
  const [schema, setSchema] = useState<SchemaField[]>([]);
  const { data, error, loading, reload } = useData(() => get<PartnerSettings>(`/api/operator/partners/${id}`), [id]);
  const [form, setForm] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState('');
  const [err, setErr] = useState<unknown>(null);
  const [number, setNumber] = useState('');
  useEffect(() => void get<SchemaField[]>('/api/operator/partners/settings-schema').then(setSchema), []);
  const initial: Record<string, string> = {};
  if (data) for (const f of schema) initial[f.field] = f.field === 'signingSecret' ? '' : asText(f.field, (data as unknown as Record<string, unknown>)[f.field]);
  useEffect(() => setForm(initial), [data, schema]);
  const byField = new Map(schema.map((f) => [f.field, f]));
  const changed = Object.keys(form).filter((k) => form[k] !== initial[k]);

  const action = async (f: () => Promise<unknown>, msg: string) => {
    setErr(null);
    try {
      await f();
      setNotice(msg);
      reload();
    } catch (e) {
      setErr(e);
    }
  };

  return (
    <Page
      title={data ? `Partner ${data.login}` : 'Partner'}
      subtitle={<a {...link('/operator/partners')}>← All partners</a>}
      actions={
        data && (
          <>
            <button class="btn ghost" onClick={() => (onOpen(data.id), navigate('/'))}>
              Open dashboard
            </button>
            <RotateApiPassword partnerId={data.id} />
            {data.status === 'active' ? (
              <button class="btn danger" onClick={() => confirm(`Block ${data.login}? Every request it sends gets 403.`) && action(() => post(`/api/operator/partners/${data.id}/block`), `${data.login} is blocked.`)}>
                Block
              </button>
            ) : (
              <button class="btn" onClick={() => action(() => post(`/api/operator/partners/${data.id}/unblock`), `${data.login} is active again.`)}>
                Unblock
              </button>
            )}
          </>
        )
      }
    >
      {notice && (
        <div class="alert success" role="status" data-testid="notice">
          {notice}
        </div>
      )}
      <ErrorBox error={err ?? error} />
      {loading && !data && <Loading />}
      {data && <SmppPasswordCard partnerId={data.id} login={data.login} enabled={data.smppEnabled} />}
      {data && schema.length > 0 && (
        <form
          class="settings-form"
          onSubmit={async (e) => {
            e.preventDefault();
            setErr(null);
            setErrors({});
            const body: Record<string, unknown> = {};
            for (const k of changed) body[k] = BOOLEAN.has(k) ? form[k] === 'true' : form[k];
            try {
              await patch(`/api/operator/partners/${data.id}`, body);
              setNotice(`Saved ${changed.length} setting${changed.length === 1 ? '' : 's'}. Running services apply it within a second.`);
              invalidatePartners();
              reload();
            } catch (e2) {
              if (e2 instanceof ApiError && e2.field) setErrors({ [e2.field]: e2.message });
              else setErr(e2);
            }
          }}
        >
          {GROUPS.map(([title, fields]) => (
            <Card key={title} title={title}>
              <div class="fields">
                {fields
                  .filter((f) => byField.has(f))
                  .map((f) => (
                    <SettingInput key={f} f={byField.get(f)!} value={form[f] ?? ''} error={errors[f]} onChange={(v) => setForm({ ...form, [f]: v })} />
                  ))}
              </div>
              {title === 'Test mode' && (
                <p class="muted">
                  Quota left: {num(data.testQuotaLeft)} of {num(data.testQuota)} {data.testPeriodOver && <Badge tone="bad">test period over</Badge>}
                </p>
              )}
            </Card>
          ))}
          <Card title="Service numbers (MO)">
            <div class="row wrap">
              {data.serviceNumbers.length === 0 && <span class="muted">none</span>}
              {data.serviceNumbers.map((n) => (
                <span key={n} class="chip">
                  {n}
                  <button type="button" aria-label={`remove ${n}`} onClick={() => action(() => post(`/api/operator/partners/${data.id}/service-numbers`, { action: 'remove', number: n }), `${n} removed.`)}>
                    ×
                  </button>
                </span>
              ))}
              <input placeholder="add a number, e.g. 4565" value={number} onInput={(e) => setNumber((e.target as HTMLInputElement).value)} />
              <button
                type="button"
                class="btn small"
                onClick={() => action(() => post(`/api/operator/partners/${data.id}/service-numbers`, { action: 'add', number }).then(() => setNumber('')), `${number} added.`)}
              >
                Add
              </button>
            </div>
          </Card>
          <div class="savebar">
            <span class="muted">{changed.length ? `${changed.length} unsaved change${changed.length === 1 ? '' : 's'}: ${changed.map((c) => LABELS[c] ?? c).join(', ')}` : 'No changes'}</span>
            <button class="btn ghost" type="button" disabled={!changed.length} onClick={() => setForm(initial)}>
              Discard
            </button>
            <button class="btn primary" type="submit" disabled={!changed.length} data-testid="save-partner">
              Save
            </button>
          </div>
        </form>
      )}
    </Page>
  );
}

interface UserRow {
  id: number;
  login: string;
  role: 'operator' | 'partner';
  partnerId: number | null;
  partnerLogin: string | null;
  blocked: boolean;
  createdAt: string;
}

export function UsersPage({ me }: { me: Me }) {
  const { data, error, reload } = useData(() => get<UserRow[]>('/api/operator/users'), []);
  const partners = useData(() => get<PartnerRow[]>('/api/operator/partners'), []);
  const [form, setForm] = useState({ login: '', role: 'partner', partnerId: '' });
  const [secret, setSecret] = useState<{ login: string; password: string } | null>(null);
  const [err, setErr] = useState<unknown>(null);
  return (
    <Page title="Users" subtitle="Who can log in: operators see everything, partner users only their partner's data">
      {secret && <Secret label={`Password of ${secret.login}`} value={secret.password} onClose={() => setSecret(null)} />}
      <Card title="New user">
        <form
          class="row wrap"
          onSubmit={async (e) => {
            e.preventDefault();
            setErr(null);
            try {
              const r = await post<{ user: UserRow; password: string }>('/api/operator/users', {
                login: form.login,
                role: form.role,
                partnerId: form.role === 'partner' ? Number(form.partnerId) || null : null,
              });
              setSecret({ login: r.user.login, password: r.password });
              setForm({ login: '', role: 'partner', partnerId: '' });
              reload();
            } catch (e2) {
              setErr(e2);
            }
          }}
        >
          <input placeholder="login" value={form.login} onInput={(e) => setForm({ ...form, login: (e.target as HTMLInputElement).value })} required />
          <select value={form.role} onChange={(e) => setForm({ ...form, role: (e.target as HTMLSelectElement).value })}>
            <option value="partner">partner user</option>
            <option value="operator">operator</option>
          </select>
          {form.role === 'partner' && (
            <select value={form.partnerId} onChange={(e) => setForm({ ...form, partnerId: (e.target as HTMLSelectElement).value })} required>
              <option value="">partner…</option>
              {partners.data?.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.login}
                </option>
              ))}
            </select>
          )}
          <button class="btn primary">Create</button>
        </form>
        <ErrorBox error={err} />
      </Card>
      <ErrorBox error={error} />
      {data && (
        <Card>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Login</th>
                  <th>Role</th>
                  <th>Partner</th>
                  <th>Created</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {data.map((u) => (
                  <tr key={u.id}>
                    <td>{u.login}</td>
                    <td>
                      <Badge tone={u.role === 'operator' ? 'info' : ''}>{u.role}</Badge> {u.blocked && <Badge tone="bad">blocked</Badge>}
                    </td>
                    <td>{u.partnerLogin ?? '—'}</td>
                    <td class="nowrap">{time(u.createdAt)}</td>
                    <td class="row">
                      <button
                        class="btn small"
                        onClick={async () => {
                          if (!confirm(`Reset the password of ${u.login}? Their sessions end.`)) return;
                          try {
                            const r = await patch<{ password: string }>(`/api/operator/users/${u.id}`, { resetPassword: true });
                            setSecret({ login: u.login, password: r.password });
                          } catch (e) {
                            setErr(e);
                          }
                        }}
                      >
                        Reset password
                      </button>
                      {u.login !== me.login && (
                        <button
                          class="btn small"
                          onClick={async () => {
                            if (!u.blocked && !confirm(`Block ${u.login}? They cannot log in and their sessions end now.`)) return;
                            try {
                              await post(`/api/operator/users/${u.id}/${u.blocked ? 'unblock' : 'block'}`);
                              reload();
                            } catch (e) {
                              setErr(e);
                            }
                          }}
                        >
                          {u.blocked ? 'Unblock' : 'Block'}
                        </button>
                      )}
                      {u.login !== me.login && (
                        <button
                          class="btn small danger"
                          onClick={async () => {
                            if (!confirm(`Delete ${u.login}?`)) return;
                            try {
                              await del(`/api/operator/users/${u.id}`);
                              reload();
                            } catch (e) {
                              setErr(e);
                            }
                          }}
                        >
                          Delete
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
    </Page>
  );
}

interface SmscRow {
  id: number;
  name: string;
  host: string;
  port: number;
  systemId: string;
  bindMode: string;
  tps: number;
  window: number;
  routes: string[];
  priority: number;
  enabled: boolean;
  password: string;
  systemType: string;
}
interface Live {
  connections: { id: number; name: string; bound: boolean; sessions: Record<string, string>; window: number; outstanding: number; waiting: number; submitsPerSecond: number | null; receiptsPerSecond: number | null; connector: string }[];
  unreachable: string[];
}

export function SmscPage() {
  const { data, error, reload } = useData(() => get<SmscRow[]>('/api/operator/smsc'), []);
  const [schema, setSchema] = useState<SchemaField[]>([]);
  const live = usePoll<Live>('/api/operator/smsc/live');
  const [editing, setEditing] = useState<SmscRow | 'new' | null>(null);
  const [form, setForm] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [err, setErr] = useState<unknown>(null);
  useEffect(() => void get<SchemaField[]>('/api/operator/smsc/settings-schema').then(setSchema), []);
  const liveOf = (name: string) => live?.connections.find((c) => c.name === name);
  const open = (c: SmscRow | 'new') => {
    setEditing(c);
    setErrors({});
    const f: Record<string, string> = {};
    for (const s of schema) f[s.field] = c === 'new' ? (s.field === 'enabled' ? 'true' : '') : s.field === 'password' ? '' : asText(s.field, (c as unknown as Record<string, unknown>)[s.field]);
    setForm(f);
  };
  return (
    <Page title="SMSC connections" subtitle="The operator SMSCs the connector binds to. Live state refreshes every 3 s." actions={<button class="btn primary" onClick={() => open('new')}>Add connection</button>}>
      <ErrorBox error={err ?? error} />
      {live && live.unreachable.length > 0 && <div class="alert warn">Connector not reachable at {live.unreachable.join(', ')}: live state unknown.</div>}
      {editing && (
        <Card title={editing === 'new' ? 'New SMSC connection' : `Edit ${editing.name}`}>
          <form
            onSubmit={async (e) => {
              e.preventDefault();
              setErrors({});
              const body: Record<string, unknown> = {};
              for (const s of schema) {
                const v = form[s.field] ?? '';
                if (editing !== 'new' && s.field === 'password' && v === '') continue;
                if (editing === 'new' && v === '' && !s.required) continue;
                if (editing !== 'new' && v === asText(s.field, (editing as unknown as Record<string, unknown>)[s.field])) continue;
                body[s.field] = BOOLEAN.has(s.field) ? v === 'true' : v;
              }
              try {
                if (editing === 'new') await post('/api/operator/smsc', body);
                else await patch(`/api/operator/smsc/${editing.id}`, body);
                setEditing(null);
                reload();
              } catch (e2) {
                if (e2 instanceof ApiError && e2.field) setErrors({ [e2.field]: e2.message });
                else setErr(e2);
              }
            }}
          >
            <div class="fields">
              {schema.map((s) => (
                <SettingInput key={s.field} f={s} value={form[s.field] ?? ''} error={errors[s.field]} onChange={(v) => setForm({ ...form, [s.field]: v })} />
              ))}
            </div>
            <div class="row">
              <button class="btn primary">Save</button>
              <button class="btn ghost" type="button" onClick={() => setEditing(null)}>
                Cancel
              </button>
            </div>
          </form>
        </Card>
      )}
      {data && data.length === 0 && <Empty title="No SMSC connections">Add one to start delivering messages.</Empty>}
      {data && data.length > 0 && (
        <Card>
          <div class="table-wrap">
            <table data-testid="smsc-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Address</th>
                  <th>system_id</th>
                  <th>Bind</th>
                  <th class="num">Window</th>
                  <th class="num">Submits/s</th>
                  <th class="num">Receipts/s</th>
                  <th>Routes</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {data.map((c) => {
                  const l = liveOf(c.name);
                  return (
                    <tr key={c.id}>
                      <td>
                        <strong>{c.name}</strong> {!c.enabled && <Badge>disabled</Badge>}
                      </td>
                      <td class="nowrap">
                        {c.host}:{c.port}
                      </td>
                      <td>{c.systemId}</td>
                      <td>{!c.enabled ? <span class="muted">—</span> : l ? l.bound ? <Badge tone="good">bound</Badge> : <Badge tone="bad">down</Badge> : <Badge>unknown</Badge>}</td>
                      <td class="num">{l ? `${l.outstanding}/${c.window}` : c.window}</td>
                      <td class="num">{l?.submitsPerSecond ?? '—'} <span class="muted small">/ {c.tps}</span></td>
                      <td class="num">{l?.receiptsPerSecond ?? '—'}</td>
                      <td>{c.routes.length ? c.routes.join(', ') : <span class="muted">all</span>}</td>
                      <td class="row">
                        <button class="btn small" onClick={() => open(c)}>
                          Edit
                        </button>
                        <button
                          class="btn small ghost"
                          onClick={async () => {
                            try {
                              await post(`/api/operator/smsc/${c.id}/${c.enabled ? 'disable' : 'enable'}`);
                              reload();
                            } catch (e) {
                              setErr(e);
                            }
                          }}
                        >
                          {c.enabled ? 'Disable' : 'Enable'}
                        </button>
                        <button
                          class="btn small danger"
                          onClick={async () => {
                            if (!confirm(`Delete ${c.name}? Connectors unbind from it.`)) return;
                            try {
                              await del(`/api/operator/smsc/${c.id}`);
                              reload();
                            } catch (e) {
                              setErr(e);
                            }
                          }}
                        >
                          Delete
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </Card>
      )}
      <SmppBindsCard url="/api/operator/smsc/smpp-binds" showPartner />
    </Page>
  );
}

export function QueuesPage() {
  const { data, error, reload } = useData(() => get<{ queues: { name: string; counts: Record<string, number> }[]; dashboard: string }>('/api/operator/queues'), []);
  useEffect(() => {
    const t = setInterval(reload, 3000);
    return () => clearInterval(t);
  }, []);
  const cols = ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed'];
  return (
    <Page
      title="Queues"
      subtitle="Jobs waiting in each BullMQ queue (refreshes every 3 s)"
      actions={
        <a class="btn primary" href="/operator/queues/" target="_blank" rel="noopener">
          Open Bull Board ↗
        </a>
      }
    >
      <ErrorBox error={error} />
      {data && (
        <Card>
          <div class="table-wrap">
            <table data-testid="queues-table">
              <thead>
                <tr>
                  <th>Queue</th>
                  {cols.map((c) => (
                    <th key={c} class="num">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.queues.map((q) => (
                  <tr key={q.name}>
                    <td>
                      <code>{q.name}</code>
                    </td>
                    {cols.map((c) => (
                      <td key={c} class={`num ${c === 'failed' && (q.counts[c] ?? 0) > 0 ? 'bad' : ''}`}>
                        {num(q.counts[c] ?? 0)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p class="muted">Failed jobs, retries and job data: Bull Board.</p>
        </Card>
      )}
    </Page>
  );
}

interface AuditEntry {
  id: string;
  actor: string;
  action: string;
  entity: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  createdAt: string;
}

/** Only what changed between before and after (all of after for a creation). */
function diff(e: AuditEntry): [string, unknown, unknown][] {
  const keys = new Set([...Object.keys(e.before ?? {}), ...Object.keys(e.after ?? {})]);
  const out: [string, unknown, unknown][] = [];
  for (const k of keys) {
    if (k === 'updatedAt') continue;
    const b = e.before?.[k];
    const a = e.after?.[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push([k, b, a]);
  }
  return out;
}

const show = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

export function AuditPage() {
  const [entity, setEntity] = useState('');
  const [filter, setFilter] = useState('');
  const [more, setMore] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const { data, error } = useData(async () => {
    const r = await get<{ entries: AuditEntry[]; next: string | null }>(`/api/operator/audit${query({ entity: filter })}`);
    setMore([]);
    setNext(r.next);
    return r;
  }, [filter]);
  const rows = [...(data?.entries ?? []), ...more];
  return (
    <Page title="Audit log" subtitle="Every configuration change: who, when, and what it was before and after">
      <Card>
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setFilter(entity);
          }}
        >
          <label>
            Entity
            <input value={entity} placeholder="partner:1, smsc:2, user:3" onInput={(e) => setEntity((e.target as HTMLInputElement).value)} />
          </label>
          <div class="filter-buttons">
            <button class="btn primary">Filter</button>
          </div>
        </form>
      </Card>
      <ErrorBox error={error} />
      {data && rows.length === 0 && <Empty title="No changes recorded" />}
      {rows.length > 0 && (
        <Card>
          <div class="table-wrap">
            <table data-testid="audit-table">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Who</th>
                  <th>What</th>
                  <th>Changes (before → after)</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e) => (
                  <tr key={e.id}>
                    <td class="nowrap">{time(e.createdAt)}</td>
                    <td>{e.actor}</td>
                    <td>
                      <code>{e.action}</code>
                      <div class="muted small">{e.entity}</div>
                    </td>
                    <td class="changes">
                      {diff(e).map(([k, b, a]) => (
                        <div key={k}>
                          <strong>{k}</strong>: <span class="before">{show(b) || '∅'}</span> → <span class="after">{show(a) || '∅'}</span>
                        </div>
                      ))}
                    </td>
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
                  const r = await get<{ entries: AuditEntry[]; next: string | null }>(`/api/operator/audit${query({ entity: filter, cursor: next })}`);
                  setMore([...more, ...r.entries]);
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
