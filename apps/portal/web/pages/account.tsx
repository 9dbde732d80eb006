import { useState } from 'preact/hooks';
import { ApiError, type Me, post } from '../api';
import { Card, Page } from '../ui';

export function AccountPage({ me }: { me: Me }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  return (
    <Page title="Your account" subtitle={`${me.login} · ${me.role}`}>
      <Card title="Change password">
        <form
          class="form narrow"
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              await post('/api/auth/password', { currentPassword: current, newPassword: next });
              setMsg({ ok: true, text: 'Password changed. Your other sessions were logged out.' });
              setCurrent('');
              setNext('');
            } catch (err) {
              setMsg({ ok: false, text: err instanceof ApiError ? err.message : String(err) });
            }
          }}
        >
          <label>
            Current password
            <input type="password" autoComplete="current-password" value={current} onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} required />
          </label>
          <label>
            New password <span class="muted">(at least 10 characters)</span>
            <input type="password" autoComplete="new-password" minLength={10} value={next} onInput={(e) => setNext((e.target as HTMLInputElement).value)} required />
          </label>
          {msg && <div class={`alert ${msg.ok ? 'success' : 'error'}`}>{msg.text}</div>}
          <button class="btn primary">Change password</button>
        </form>
      </Card>
    </Page>
  );
}
