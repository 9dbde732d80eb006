import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, type Me, post, setUnauthorizedHandler } from './api';
import { link, navigate, useLocation } from './router';
import { Loading } from './ui';
import { AccountPage } from './pages/account';
import { CallbacksPage } from './pages/callbacks';
import { DashboardPage } from './pages/dashboard';
import { LoginPage } from './pages/login';
import { MessagePage } from './pages/message';
import { MessagesPage } from './pages/messages';
import { MoPage } from './pages/mo';
import { SettingsPage } from './pages/settings';
import { AuditPage, PartnerEditPage, PartnersPage, QueuesPage, SmscPage, UsersPage } from './pages/operator';
import { PartnerPicker, usePartnerChoice } from './pages/partner-picker';

interface NavItem {
  to: string;
  label: string;
  icon: string;
}

const PARTNER_NAV: NavItem[] = [
  { to: '/', label: 'Dashboard', icon: 'M4 19h16M6 16V9m5 7V5m5 11v-4' },
  { to: '/messages', label: 'Messages', icon: 'M4 6h16v10H9l-5 4z' },
  { to: '/mo', label: 'Incoming (MO)', icon: 'M12 4v11m-5-5 5 5 5-5M5 20h14' },
  { to: '/callbacks', label: 'Callbacks', icon: 'M4 12a8 8 0 0 1 14-5l2-2v6h-6l2-2a5 5 0 1 0 1 6' },
  { to: '/settings', label: 'Settings', icon: 'M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm0-5v3m0 12v3M3 12h3m12 0h3' },
];

const OPERATOR_NAV: NavItem[] = [
  { to: '/operator/partners', label: 'Partners', icon: 'M8 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm8 0a3 3 0 1 0 0-6M2 20a6 6 0 0 1 12 0m2-6a6 6 0 0 1 6 6' },
  { to: '/operator/users', label: 'Users', icon: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 8a7 7 0 0 1 14 0' },
  { to: '/operator/smsc', label: 'SMSC connections', icon: 'M5 12a7 7 0 0 1 14 0M8 12a4 4 0 0 1 8 0M12 12v8' },
  { to: '/operator/queues', label: 'Queues', icon: 'M4 6h16M4 12h16M4 18h10' },
  { to: '/operator/audit', label: 'Audit log', icon: 'M6 3h9l4 4v14H6zM9 12h7M9 16h7' },
];

function Icon({ d }: { d: string }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
      <path d={d} fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}

function Nav({ items, path, onGo }: { items: NavItem[]; path: string; onGo: () => void }) {
  return (
    <ul>
      {items.map((i) => {
        const active = i.to === '/' ? path === '/' : path === i.to || path.startsWith(`${i.to}/`);
        const l = link(i.to);
        return (
          <li key={i.to}>
            <a {...l} onClick={(e) => (onGo(), l.onClick(e as unknown as MouseEvent))} class={active ? 'active' : ''} aria-current={active ? 'page' : undefined}>
              <Icon d={i.icon} />
              {i.label}
            </a>
          </li>
        );
      })}
    </ul>
  );
}

function Shell({ me, onLogout }: { me: Me; onLogout: () => void }) {
  const { path, params } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const [partnerId, setPartnerId] = usePartnerChoice(me);
  const scoped = me.role === 'operator' ? partnerId : me.partnerId;

  let page;
  const needPartner = (el: () => preact.JSX.Element) => (scoped ? el() : <PartnerPicker.Prompt />);
  if (path === '/') page = needPartner(() => <DashboardPage partnerId={scoped!} me={me} />);
  else if (path === '/messages') page = needPartner(() => <MessagesPage partnerId={scoped!} me={me} params={params} />);
  else if (path.startsWith('/messages/')) page = needPartner(() => <MessagePage partnerId={scoped!} me={me} id={decodeURIComponent(path.slice('/messages/'.length))} />);
  else if (path === '/mo') page = needPartner(() => <MoPage partnerId={scoped!} me={me} />);
  else if (path === '/callbacks') page = needPartner(() => <CallbacksPage partnerId={scoped!} me={me} />);
  else if (path === '/settings') page = needPartner(() => <SettingsPage partnerId={scoped!} me={me} />);
  else if (path === '/account') page = <AccountPage me={me} />;
  else if (me.role === 'operator' && path === '/operator/partners') page = <PartnersPage onOpen={(id) => setPartnerId(id)} />;
  else if (me.role === 'operator' && path.startsWith('/operator/partners/')) page = <PartnerEditPage id={path.split('/')[3]!} onOpen={(id) => setPartnerId(id)} />;
  else if (me.role === 'operator' && path === '/operator/users') page = <UsersPage me={me} />;
  else if (me.role === 'operator' && path === '/operator/smsc') page = <SmscPage />;
  else if (me.role === 'operator' && path === '/operator/queues') page = <QueuesPage />;
  else if (me.role === 'operator' && path === '/operator/audit') page = <AuditPage />;
  else page = <div class="card"><h1>Not found</h1><p><a {...link('/')}>Back to the dashboard</a></p></div>;

  return (
    <div class={`shell ${menuOpen ? 'menu-open' : ''}`}>
      <aside class="sidebar">
        <a class="brand" {...link('/')}>
          <span class="logo">✉</span> smsgw
        </a>
        {me.role === 'operator' && (
          <div class="nav-group">
            <div class="nav-title">Operator console</div>
            <Nav items={OPERATOR_NAV} path={path} onGo={() => setMenuOpen(false)} />
          </div>
        )}
        <div class="nav-group">
          <div class="nav-title">{me.role === 'operator' ? 'Partner account' : 'Your account'}</div>
          {me.role === 'operator' && <PartnerPicker value={partnerId} onChange={setPartnerId} />}
          <Nav items={PARTNER_NAV} path={path} onGo={() => setMenuOpen(false)} />
        </div>
      </aside>
      <div class="main">
        <header class="topbar">
          <button class="btn ghost menu-button" aria-label="Menu" onClick={() => setMenuOpen(!menuOpen)}>
            ☰
          </button>
          <div class="spacer" />
          <a class="user" {...link('/account')} title="Password and account">
            <span class="avatar">{me.login.slice(0, 1).toUpperCase()}</span>
            <span>
              {me.login} <span class="muted">· {me.role}</span>
            </span>
          </a>
          <button class="btn ghost" onClick={onLogout}>
            Log out
          </button>
        </header>
        <main>{page}</main>
      </div>
    </div>
  );
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const { path } = useLocation();
  useEffect(() => {
    setUnauthorizedHandler(() => setMe(null));
    get<Me>('/api/auth/me').then(setMe, () => setMe(null));
  }, []);
  if (me === undefined) return <Loading />;
  if (me === null || path === '/login') {
    return (
      <LoginPage
        onLogin={(m) => {
          setMe(m);
          const next = new URLSearchParams(location.search).get('next');
          if (next && next.startsWith('/operator/queues')) location.href = next;
          else navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : m.role === 'operator' ? '/operator/partners' : '/', true);
        }}
      />
    );
  }
  return (
    <Shell
      me={me}
      onLogout={() => {
        void post('/api/auth/logout').finally(() => {
          setMe(null);
          navigate('/login', true);
        });
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
