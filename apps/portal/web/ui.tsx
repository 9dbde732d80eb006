import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post } from './api';

export function Page({ title, subtitle, actions, children }: { title: string; subtitle?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · smsgw`;
  }, [title]);
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>{title}</h1>
          {subtitle && <p class="muted">{subtitle}</p>}
        </div>
        {actions && <div class="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function Card({ title, children, class: cls, actions }: { title?: ComponentChildren; children: ComponentChildren; class?: string; actions?: ComponentChildren }) {
  return (
    <div class={`card ${cls ?? ''}`}>
      {(title || actions) && (
        <div class="card-head">
          {title && <h2>{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </div>
  );
}

export function Stat({ label, value, hint, tone, testId }: { label: string; value: ComponentChildren; hint?: ComponentChildren; tone?: string; testId?: string }) {
  return (
    <div class={`stat ${tone ?? ''}`} data-testid={testId}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {hint && <div class="stat-hint">{hint}</div>}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <svg viewBox="0 0 48 48" width="40" height="40" aria-hidden="true">
        <rect x="6" y="10" width="36" height="26" rx="5" fill="none" stroke="currentColor" stroke-width="2.5" />
        <path d="M14 36v6l7-6" fill="none" stroke="currentColor" stroke-width="2.5" />
      </svg>
      <strong>{title}</strong>
      {children && <p>{children}</p>}
    </div>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const msg = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  return (
    <div class="alert error" role="alert">
      {msg}
    </div>
  );
}

export function Loading() {
  return <div class="loading" aria-busy="true">Loading…</div>;
}

export function Badge({ tone, children }: { tone?: string; children: ComponentChildren }) {
  return <span class={`badge ${tone ?? ''}`}>{children}</span>;
}

/** Loads `f()` and reloads when `deps` change; `reload()` on demand. */
export function useData<T>(f: () => Promise<T>, deps: unknown[]): { data: T | null; error: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    f().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** GETs `url` now and every `ms` while mounted: null until the first answer; a failed look keeps the last one (shown as unknown until then). */
export function usePoll<T>(url: string, ms = 3000): T | null {
  const [value, setValue] = useState<T | null>(null);
  useEffect(() => {
    let stop = false;
    const poll = async () => {
      try {
        const v = await get<T>(url);
        if (!stop) setValue(v);
      } catch {
        /* kept: the last answer, or unknown */
      }
      if (!stop) setTimeout(poll, ms);
    };
    void poll();
    return () => {
      stop = true;
    };
  }, [url, ms]);
  return value;
}

/** A secret shown once, with a copy button. */
export function Secret({ label, value, onClose, testId = 'secret' }: { label: string; value: string; onClose: () => void; testId?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="alert success secret" role="status">
      <div>
        <strong>{label}</strong>
        <p class="muted">Shown once: copy it now. It is stored hashed and cannot be shown again.</p>
        <code data-testid={testId}>{value}</code>
      </div>
      <div class="row">
        <button
          class="btn"
          onClick={() => {
            void navigator.clipboard?.writeText(value).then(() => setCopied(true));
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button class="btn ghost" onClick={onClose}>
          Done
        </button>
      </div>
    </div>
  );
}

/**
 * "New API password": asks for the user's own portal password first (the server checks it again),
 * then shows the new API password once.
 */
export function RotateApiPassword({ partnerId }: { partnerId?: number }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [err, setErr] = useState<unknown>(null);
  if (secret) return <Secret label="The new API password (pass)" value={secret} onClose={() => setSecret(null)} />;
  if (!open)
    return (
      <button class="btn" data-testid="rotate-api-password" onClick={() => (setErr(null), setOpen(true))}>
        New API password
      </button>
    );
  return (
    <form
      class="row wrap"
      onSubmit={async (e) => {
        e.preventDefault();
        setErr(null);
        try {
          setSecret((await post<{ password: string }>('/api/account/api-password', { partnerId, currentPassword: password })).password);
          setOpen(false);
          setPassword('');
        } catch (e2) {
          setErr(e2);
        }
      }}
    >
      <span class="muted">The current API password stops working within a second.</span>
      <input type="password" aria-label="Your portal password" placeholder="your portal password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
      <button class="btn primary">Issue new API password</button>
      <button type="button" class="btn ghost" onClick={() => (setOpen(false), setPassword(''))}>
        Cancel
      </button>
      <ErrorBox error={err} />
    </form>
  );
}
