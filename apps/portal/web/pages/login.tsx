import { useState } from 'preact/hooks';
import { ApiError, type Me, post } from '../api';

export function LoginPage({ onLogin }: { onLogin: (me: Me) => void }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <div class="login-wrap">
      <form
        class="card login"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError('');
          try {
            onLogin(await post<Me>('/api/auth/login', { login, password }));
          } catch (err) {
            setError(err instanceof ApiError ? err.message : 'the portal does not answer; try again');
          } finally {
            setBusy(false);
          }
        }}
      >
        <div class="brand big">
          <span class="logo">✉</span> smsgw
        </div>
        <p class="muted">Personal account and operator console</p>
        <label>
          Login
          <input name="login" autoComplete="username" value={login} onInput={(e) => setLogin((e.target as HTMLInputElement).value)} required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
        </label>
        {error && (
          <div class="alert error" role="alert">
            {error}
          </div>
        )}
        <button class="btn primary wide" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
