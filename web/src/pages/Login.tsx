import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { ErrorNotice } from '../components/ui';
import { useAction } from '../hooks';
import { sessionNotice, startSession } from '../session';

export function Login() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [withOrg, setWithOrg] = useState(false);
  const [organization, setOrganization] = useState('');
  const [show, setShow] = useState(false);
  const action = useAction();

  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const body: Record<string, string> = { username, password };
      if (withOrg) body.organization_name = organization;
      const t = await api<{ token: string; refresh_token: string }>('/api/auth/login', {
        method: 'POST',
        body,
      });
      startSession(t.token, t.refresh_token, withOrg ? organization : '');
    });
  };

  const wrong = action.error instanceof ApiError && action.error.status === 401;
  return (
    <div class="login">
      <form class="card" onSubmit={submit}>
        <h1>
          <img src="/favicon.svg" alt="" width="28" height="28" /> Oakestra
        </h1>
        {sessionNotice.value && <div class="notice warn">{sessionNotice.value}</div>}
        <label class="field">
          <span class="label">Username</span>
          <input
            name="username"
            autocomplete="username"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label class="field">
          <span class="label">Password</span>
          <span class="with-button">
            <input
              name="password"
              aria-label="Password"
              type={(show ? 'text' : 'password') as 'text'}
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
            <button type="button" class="icon" onClick={() => setShow(!show)}>
              {show ? 'Hide' : 'Show'}
            </button>
          </span>
        </label>
        <label class="check">
          <input type="checkbox" checked={withOrg} onChange={(e) => setWithOrg(e.currentTarget.checked)} />
          Log in to an organization
        </label>
        {withOrg && (
          <label class="field">
            <span class="label">Organization</span>
            <input
              name="organization"
              required
              value={organization}
              onInput={(e) => setOrganization(e.currentTarget.value)}
            />
          </label>
        )}
        {wrong ? (
          <div class="notice error" role="alert">
            Wrong username{withOrg ? ', organization' : ''} or password.
          </div>
        ) : (
          <ErrorNotice error={action.error} />
        )}
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">API: {location.origin}/api</p>
      </form>
    </div>
  );
}
