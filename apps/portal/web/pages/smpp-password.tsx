// The partner's SMPP bind password (system_id = its login): the operator generates one, sets a
// chosen one or disables SMPP on the partner's page; a partner user generates a new one for
// itself on its settings page, only while SMPP is enabled. The password is shown once: only its
// hash is stored.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Me, post } from '../api';
import { link } from '../router';
import { Badge, Card, ErrorBox, Secret } from '../ui';

const RULE = '1 to 8 printable ASCII characters without spaces (! to ~): SMPP 3.4 allows at most 8.';
const UNBIND = 'The old password stops working at once: sessions bound with it are unbound within a second.';

function State({ enabled }: { enabled: boolean }) {
  return enabled ? <Badge tone="good">SMPP enabled</Badge> : <Badge tone="bad">SMPP disabled</Badge>;
}

/** The operator's controls on a partner's page: generate, set a chosen one, disable. */
export function SmppPasswordCard({ partnerId, login, enabled: initial }: { partnerId: number; login: string; enabled: boolean }) {
  const [enabled, setEnabled] = useState(initial);
  const [secret, setSecret] = useState<string | null>(null);
  const [chosen, setChosen] = useState('');
  const [fieldError, setFieldError] = useState('');
  const [notice, setNotice] = useState('');
  const [err, setErr] = useState<unknown>(null);
  useEffect(() => setEnabled(initial), [initial, partnerId]);
  const url = `/api/operator/partners/${partnerId}/smpp-password`;

  const run = async (f: () => Promise<void>) => {
    setErr(null);
    setFieldError('');
    setNotice('');
    setSecret(null);
    try {
      await f();
    } catch (e) {
      setErr(e);
    }
  };

  const generate = () =>
    run(async () => {
      if (enabled && !confirm(`Generate a new SMPP password for ${login}? ${UNBIND}`)) return;
      const r = await post<{ password: string }>(url, {});
      setEnabled(true);
      setSecret(r.password);
    });

  const disable = () =>
    run(async () => {
      if (!confirm(`Disable SMPP for ${login}? Every bind is refused and open sessions are unbound within a second.`)) return;
      await post(`${url}/disable`);
      setEnabled(false);
      setNotice(`SMPP disabled for ${login}: its binds are refused.`);
    });

  return (
    <Card title="SMPP password" actions={<State enabled={enabled} />}>
      <p class="muted">
        SMPP binds log in with system_id <code>{login}</code> and this password. It is stored hashed, so it can only be replaced, never shown again. {UNBIND}
      </p>
      {secret && <Secret label={`The new SMPP password of ${login}`} value={secret} testId="smpp-secret" onClose={() => setSecret(null)} />}
      {notice && (
        <div class="alert success" role="status" data-testid="smpp-notice">
          {notice}
        </div>
      )}
      <div class="row wrap">
        <button type="button" class="btn primary" data-testid="generate-smpp-password" onClick={generate}>
          Generate SMPP password
        </button>
        {enabled && (
          <button type="button" class="btn danger" data-testid="disable-smpp" onClick={disable}>
            Disable SMPP
          </button>
        )}
      </div>
      <form
        class="row wrap smpp-chosen"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            try {
              await post(url, { password: chosen });
            } catch (e2) {
              if (!(e2 instanceof ApiError && e2.status === 400)) throw e2;
              setFieldError(e2.message);
              return;
            }
            setEnabled(true);
            setChosen('');
            setNotice(`SMPP password of ${login} set (stored hashed).`);
          });
        }}
      >
        <div class={`field ${fieldError ? 'invalid' : ''}`}>
          <label for="smpp-password">Or set a chosen password</label>
          <div class="row">
            <input
              id="smpp-password"
              name="smppPassword"
              type="password"
              autocomplete="new-password"
              value={chosen}
              aria-invalid={fieldError ? 'true' : undefined}
              aria-describedby="smpp-password-rule"
              onInput={(e) => setChosen((e.target as HTMLInputElement).value)}
            />
            <button class="btn">Set password</button>
          </div>
          <small class="muted" id="smpp-password-rule">
            {RULE}
          </small>
          {fieldError && (
            <small class="err" role="alert" data-testid="smpp-password-error">
              {fieldError}
            </small>
          )}
        </div>
      </form>
      <ErrorBox error={err} />
    </Card>
  );
}

/** A partner user's own new SMPP password: its portal password again first, then shown once. */
function RotateSmppPassword({ login, onDisabled }: { login: string; onDisabled: () => void }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [err, setErr] = useState<unknown>(null);
  if (secret) return <Secret label={`Your new SMPP password (system_id ${login})`} value={secret} testId="smpp-secret" onClose={() => setSecret(null)} />;
  if (!open)
    return (
      <button class="btn" data-testid="rotate-smpp-password" onClick={() => (setErr(null), setOpen(true))}>
        Generate SMPP password
      </button>
    );
  return (
    <form
      class="row wrap"
      onSubmit={async (e) => {
        e.preventDefault();
        setErr(null);
        try {
          setSecret((await post<{ password: string }>('/api/account/smpp-password', { currentPassword: password })).password);
          setOpen(false);
          setPassword('');
        } catch (e2) {
          if (e2 instanceof ApiError && e2.status === 403 && /disabled/.test(e2.message)) onDisabled();
          setErr(e2);
        }
      }}
    >
      <span class="muted">{UNBIND}</span>
      <input type="password" aria-label="Your portal password (SMPP)" placeholder="your portal password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
      <button class="btn primary">Issue new SMPP password</button>
      <button type="button" class="btn ghost" onClick={() => (setOpen(false), setPassword(''))}>
        Cancel
      </button>
      <ErrorBox error={err} />
    </form>
  );
}

/**
 * SMPP on the settings page: the partner's state, and for a partner user a new password of its
 * own while SMPP is enabled (enabling it is the operator's decision).
 */
export function SmppAccessCard({ partnerId, login, enabled: initial, smppMaxBinds, me }: { partnerId: number; login: string; enabled: boolean; smppMaxBinds: number | null; me: Me }) {
  const [enabled, setEnabled] = useState(initial);
  useEffect(() => setEnabled(initial), [initial, partnerId]);
  return (
    <Card title="SMPP" actions={<State enabled={enabled} />}>
      <dl class="props" data-testid="smpp-access">
        <dt>system_id</dt>
        <dd>
          <code>{login}</code>
        </dd>
        <dt>Password</dt>
        <dd>{enabled ? 'set (stored hashed, never shown again)' : <span class="muted">none: every SMPP bind is refused</span>}</dd>
        <dt>Binds at once</dt>
        <dd>{smppMaxBinds ?? "the SMPP server's default"}</dd>
      </dl>
      {me.role === 'partner' && enabled && (
        <>
          <p class="muted">A new password is generated for you (8 letters and digits) and shown once.</p>
          <RotateSmppPassword login={login} onDisabled={() => setEnabled(false)} />
        </>
      )}
      {me.role === 'partner' && !enabled && (
        <p class="muted" data-testid="smpp-disabled-note">
          SMPP is disabled for your account, so you cannot set a password here: only your operator can enable it. Ask them if you want to send over SMPP.
        </p>
      )}
      {me.role === 'operator' && (
        <p class="muted">
          Operators generate, set or disable it on <a {...link(`/operator/partners/${partnerId}`)}>the partner's page</a>.
        </p>
      )}
    </Card>
  );
}
