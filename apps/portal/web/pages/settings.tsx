import { get, type Me, post, query } from '../api';
import { num, time } from '../format';
import { Badge, Card, ErrorBox, Loading, Page, RotateApiPassword, useData } from '../ui';
import { SmppBindsCard } from './smpp-binds';
import { SmppAccessCard } from './smpp-password';

export interface PartnerSettings {
  id: number;
  login: string;
  name: string;
  status: string;
  allowedIps: string[];
  senders: string[];
  defaultSender: string | null;
  dynamicSignature: boolean;
  statusUrl: string | null;
  moUrl: string | null;
  pollingEnabled: boolean;
  intermediateReports: boolean;
  requestParamNames: Record<string, string>;
  callbackParamNames: Record<string, string>;
  rateLimit: number;
  validityMinutes: number;
  postponedEnabled: boolean;
  postponedHorizonDays: number;
  timeZone: string;
  defaultCountry: string;
  duplicateFilter: boolean;
  duplicateMax: number;
  duplicateWindowHours: number;
  signingSecret: string | null;
  testMode: boolean;
  testQuota: number;
  testEndsAt: string | null;
  testRealDelivery: boolean;
  callbackConcurrency: number | null;
  moOrder: 'partner' | 'subscriber';
  serviceNumbers: string[];
  /** Whether the partner has an SMPP password (the hash itself is never sent). */
  smppEnabled: boolean;
  smppMaxBinds: number | null;
  testQuotaUsed: number;
  testQuotaLeft: number;
  testPeriodOver: boolean;
}

const yes = (b: boolean) => (b ? 'yes' : 'no');
const names = (m: Record<string, string>) =>
  Object.keys(m).length === 0 ? (
    <span class="muted">standard names</span>
  ) : (
    Object.entries(m).map(([k, v]) => (
      <div key={k}>
        <code>{k}</code> → <code>{v}</code>
      </div>
    ))
  );

export function SettingsView({ s, me }: { s: PartnerSettings; me: Me }) {
  return (
    <div class="grid two">
      <Card title="Access">
        <dl class="props">
          <dt>Name</dt>
          <dd>{s.name || '—'}</dd>
          <dt>serviceId (login)</dt>
          <dd>
            <code>{s.login}</code>
          </dd>
          <dt>State</dt>
          <dd>{s.status === 'active' ? <Badge tone="good">active</Badge> : <Badge tone="bad">blocked</Badge>}</dd>
          <dt>Allowed addresses</dt>
          <dd>{s.allowedIps.length ? s.allowedIps.join(', ') : <span class="muted">none: every request is refused (403)</span>}</dd>
          <dt>Rate limit</dt>
          <dd>{num(s.rateLimit)} messages/s</dd>
          <dt>Status polling</dt>
          <dd>{yes(s.pollingEnabled)}</dd>
        </dl>
      </Card>
      <Card title="Senders and numbers">
        <dl class="props">
          <dt>Senders</dt>
          <dd>{s.senders.length ? s.senders.join(', ') : '—'}</dd>
          <dt>Default sender</dt>
          <dd>{s.defaultSender ?? '—'}</dd>
          <dt>Any sender (dynamic)</dt>
          <dd>{yes(s.dynamicSignature)}</dd>
          <dt>Service numbers (MO)</dt>
          <dd>{s.serviceNumbers.length ? s.serviceNumbers.join(', ') : '—'}</dd>
          <dt>Default country</dt>
          <dd>{s.defaultCountry}</dd>
          <dt>Time zone</dt>
          <dd>{s.timeZone}</dd>
        </dl>
      </Card>
      <Card title="Callbacks">
        <dl class="props">
          <dt>Status URL (reports)</dt>
          <dd class="break">{s.statusUrl ?? <span class="muted">none</span>}</dd>
          <dt>MO URL</dt>
          <dd class="break">{s.moUrl ?? <span class="muted">none</span>}</dd>
          <dt>MO order</dt>
          <dd>{s.moOrder === 'subscriber' ? "each subscriber's MO in order; subscribers in parallel" : 'all MO in arrival order, one at a time'}</dd>
          <dt>Intermediate reports</dt>
          <dd>{yes(s.intermediateReports)}</dd>
          <dt>Signing secret</dt>
          <dd>{s.signingSecret ? 'set (X-Signature on every callback)' : 'none'}</dd>
          <dt>Callback parameter names</dt>
          <dd>{names(s.callbackParamNames)}</dd>
        </dl>
      </Card>
      <Card title="Sending">
        <dl class="props">
          <dt>Request parameter names</dt>
          <dd>{names(s.requestParamNames)}</dd>
          <dt>Validity</dt>
          <dd>{s.validityMinutes} min</dd>
          <dt>Postponed delivery</dt>
          <dd>{s.postponedEnabled ? `yes, up to ${s.postponedHorizonDays} days ahead` : 'no'}</dd>
          <dt>Duplicate filter</dt>
          <dd>{s.duplicateFilter ? `${s.duplicateMax} per ${s.duplicateWindowHours} h` : 'off'}</dd>
        </dl>
      </Card>
      <Card title="Test mode" class={s.testMode ? 'highlight' : ''}>
        <dl class="props" data-testid="test-mode">
          <dt>Test mode</dt>
          <dd>{s.testMode ? <Badge tone="warn">on</Badge> : <Badge>off</Badge>}</dd>
          <dt>Quota left</dt>
          <dd>
            {num(s.testQuotaLeft)} of {num(s.testQuota)} test messages
          </dd>
          <dt>Test period ends</dt>
          <dd>{s.testEndsAt ? `${time(s.testEndsAt)}${s.testPeriodOver ? ' (over)' : ''}` : 'no end'}</dd>
          <dt>Real delivery</dt>
          <dd>{s.testRealDelivery ? 'yes' : 'no: a simulated operator answers'}</dd>
        </dl>
      </Card>
      <SmppAccessCard partnerId={s.id} login={s.login} enabled={s.smppEnabled} smppMaxBinds={s.smppMaxBinds} me={me} />
    </div>
  );
}

export function SettingsPage({ partnerId, me }: { partnerId: number; me: Me }) {
  const pid = me.role === 'operator' ? partnerId : undefined;
  const { data, error, loading } = useData(() => get<PartnerSettings>(`/api/account/settings${query({ partnerId: pid })}`), [partnerId]);
  return (
    <Page title="Settings" subtitle="How the platform is set up for you. To change anything else, ask your operator." actions={<RotateApiPassword partnerId={pid} />}>
      <ErrorBox error={error} />
      {loading && <Loading />}
      {data && <SettingsView s={data} me={me} />}
      {data && <SmppBindsCard url={`/api/account/smpp-binds${query({ partnerId: pid })}`} showPartner={false} />}
    </Page>
  );
}
