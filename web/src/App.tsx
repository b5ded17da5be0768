// The shell: login gate, header with navigation, the page for the current path, and the banners
// that say when the API is unreachable.
import type { ComponentType } from 'preact';
import { useEffect } from 'preact/hooks';
import { apiReachable } from './api';
import { Toasts } from './components/ui';
import { currentPath, match, navigate, onLinkClick, type Params } from './router';
import { endSession, isAdmin, session } from './session';
import { Login } from './pages/Login';
import { Applications } from './pages/Applications';
import { Services } from './pages/Services';
import { ServiceEditor } from './pages/ServiceEditor';
import { InstancePage } from './pages/Instance';
import { Infrastructure } from './pages/Infrastructure';
import { Users } from './pages/Users';
import { Organizations } from './pages/Organizations';
import { Account } from './pages/Account';

const kReturnTo = 'oak_return_to';

interface Route {
  pattern: string;
  page: ComponentType<{ params: Params }>;
  admin?: boolean;
}

const routes: Route[] = [
  { pattern: '/apps', page: Applications },
  { pattern: '/apps/:appId', page: Services },
  { pattern: '/apps/:appId/new-service', page: ServiceEditor },
  { pattern: '/services/:serviceId/edit', page: ServiceEditor },
  { pattern: '/services/:serviceId/instances/:n', page: InstancePage },
  { pattern: '/infrastructure', page: Infrastructure },
  { pattern: '/users', page: Users, admin: true },
  { pattern: '/organizations', page: Organizations, admin: true },
  { pattern: '/account', page: Account },
];

const nav = [
  { href: '/apps', label: 'Applications' },
  { href: '/infrastructure', label: 'Infrastructure' },
  { href: '/users', label: 'Users', admin: true },
  { href: '/organizations', label: 'Organizations', admin: true },
];

function ApiDownBanner() {
  if (apiReachable.value) return null;
  return (
    <div class="banner" role="alert">
      The Oakestra API at {location.origin} does not answer. Showing the last known state; it updates
      again as soon as the API is back.
    </div>
  );
}

function NotFound() {
  return (
    <div class="page">
      <h1>Page not found</h1>
      <p>
        There is nothing at <code>{currentPath.value}</code>. Go to the{' '}
        <a href="/apps">applications</a>.
      </p>
    </div>
  );
}

export function App() {
  const path = currentPath.value;
  const s = session.value;

  useEffect(() => {
    // After logging in, the page asked for before comes back.
    if (!s && path !== '/login') {
      sessionStorage.setItem(kReturnTo, path);
      navigate('/login', true);
    }
    if (s && (path === '/login' || path === '/')) {
      const back = sessionStorage.getItem(kReturnTo);
      sessionStorage.removeItem(kReturnTo);
      navigate(back && back !== '/' && back !== '/login' ? back : '/apps', true);
    }
  }, [s, path]);

  if (!s) {
    return (
      <div onClick={onLinkClick}>
        <ApiDownBanner />
        <Login />
        <Toasts />
      </div>
    );
  }

  let page = <NotFound />;
  for (const r of routes) {
    const params = match(r.pattern, path);
    if (!params) continue;
    page =
      r.admin && !isAdmin.value ? (
        <div class="page">
          <h1>Administrators only</h1>
          <p>This page needs the Admin role, which your account does not have here.</p>
        </div>
      ) : (
        <r.page params={params} key={r.pattern} />
      );
    break;
  }

  return (
    <div class="shell" onClick={onLinkClick}>
      <header class="top">
        <a class="brand" href="/apps">
          <img src="/favicon.svg" alt="" width="22" height="22" /> Oakestra
        </a>
        <nav>
          {nav
            .filter((n) => !n.admin || isAdmin.value)
            .map((n) => (
              <a key={n.href} href={n.href} class={path.startsWith(n.href) ? 'active' : ''}>
                {n.label}
              </a>
            ))}
        </nav>
        <div class="who">
          <a href="/account" title={`roles: ${s.claims.roles.join(', ') || 'none'}`}>
            {s.claims.sub}
            {s.organizationName && <span class="muted"> @ {s.organizationName}</span>}
          </a>
          <button
            type="button"
            onClick={() => {
              endSession();
              navigate('/login');
            }}
          >
            Log out
          </button>
        </div>
      </header>
      <ApiDownBanner />
      <main>{page}</main>
      <Toasts />
    </div>
  );
}
