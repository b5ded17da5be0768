// The logged-in user: who they are here, and a password change.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorNotice, Field, notify } from '../components/ui';
import { useAction, usePoll } from '../hooks';
import { session } from '../session';
import { fieldErrors } from '../sla';
import type { User } from '../types';

export function Account() {
  const s = session.value!;
  const name = s.claims.sub;
  const user = usePoll(() => api<User>(`/api/user/${encodeURIComponent(name)}`), 0, [name]);
  const [oldPassword, setOld] = useState('');
  const [newPassword, setNew] = useState('');
  const [repeat, setRepeat] = useState('');
  const action = useAction();
  const errs = fieldErrors(action.error, '', (p) => p === 'oldPassword' || p === 'newPassword');
  const mismatch = repeat && repeat !== newPassword ? 'The two new passwords differ' : '';

  return (
    <div class="page narrow">
      <h1>Account</h1>
      <section class="card">
        <dl class="facts">
          <dt>User</dt>
          <dd>{name}</dd>
          <dt>Organization</dt>
          <dd>{s.organizationName || 'default'}</dd>
          <dt>Roles here</dt>
          <dd>{s.claims.roles.join(', ') || 'none'}</dd>
          <dt>E-mail</dt>
          <dd>{user.data?.email || '—'}</dd>
          <dt>Session ends</dt>
          <dd>{s.claims.exp ? new Date(s.claims.exp * 1000).toLocaleTimeString() + ' (renewed automatically)' : '—'}</dd>
        </dl>
        <ErrorNotice error={user.error} />
      </section>
      <section class="card">
        <h2>Change password</h2>
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            if (mismatch) return;
            void action.run(async () => {
              await api(`/api/user/${encodeURIComponent(name)}`, { method: 'POST', body: { oldPassword, newPassword } });
              notify('Password changed');
              setOld('');
              setNew('');
              setRepeat('');
            });
          }}
        >
          <Field label="Current password" error={errs.fields.oldPassword}>
            <input type="password" name="oldPassword" autocomplete="current-password" required value={oldPassword} onInput={(e) => setOld(e.currentTarget.value)} />
          </Field>
          <Field label="New password" error={errs.fields.newPassword}>
            <input type="password" name="newPassword" autocomplete="new-password" required value={newPassword} onInput={(e) => setNew(e.currentTarget.value)} />
          </Field>
          <Field label="New password again" error={mismatch}>
            <input type="password" name="repeat" autocomplete="new-password" required value={repeat} onInput={(e) => setRepeat(e.currentTarget.value)} />
          </Field>
          {errs.general && <ErrorNotice error={action.error} />}
          <div class="actions">
            <button type="submit" class="primary" disabled={action.busy || !!mismatch}>
              Change password
            </button>
          </div>
        </form>
      </section>
    </div>
  );
}
