// Users of the caller's organization (Admins): create, change e-mail and roles, delete.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ConfirmButton, Empty, ErrorNotice, Field, FormActions, Loading, Modal, notify } from '../components/ui';
import { useAction, usePoll } from '../hooks';
import { session } from '../session';
import { fieldErrors } from '../sla';
import type { User } from '../types';

export const allRoles = ['Admin', 'Organization_Admin', 'Application_Provider', 'Infrastructure_Provider'];

export function RolePicker({ roles, onChange }: { roles: string[]; onChange: (r: string[]) => void }) {
  return (
    <div class="checks">
      {allRoles.map((r) => (
        <label key={r} class="check">
          <input
            type="checkbox"
            name={`role-${r}`}
            checked={roles.includes(r)}
            onChange={(e) => onChange(e.currentTarget.checked ? [...roles, r] : roles.filter((x) => x !== r))}
          />
          {r.replace('_', ' ')}
        </label>
      ))}
    </div>
  );
}

function UserDialog({ user, onDone }: { user?: User; onDone: (changed: boolean) => void }) {
  const [name, setName] = useState(user?.name ?? '');
  const [email, setEmail] = useState(user?.email ?? '');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<string[]>(user?.roles ?? ['Application_Provider']);
  const action = useAction();
  const known = new Set(['name', 'password', 'email', 'roles']);
  const errs = fieldErrors(action.error, '', (p) => known.has(p.split(/[.[]/)[0]));
  const err = (k: string) => Object.entries(errs.fields).find(([p]) => p === k || p.startsWith(k + '['))?.[1];

  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      if (user) {
        await api(`/api/user/${encodeURIComponent(user.name)}`, { method: 'PUT', body: { email, roles } });
        notify(`User ${user.name} updated`);
      } else {
        await api('/api/auth/register', { method: 'POST', body: { name, password, email, roles } });
        notify(`User ${name} created`);
      }
      onDone(true);
    });
  };
  return (
    <Modal title={user ? `Edit ${user.name}` : 'New user'} onClose={() => onDone(false)}>
      <form class="stack" onSubmit={submit}>
        {!user && (
          <Field label="Username" error={err('name')}>
            <input name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
        )}
        <Field label="E-mail" error={err('email')}>
          <input name="email" type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        {!user && (
          <Field label="Password" error={err('password')}>
            <input
              name="password"
              type="password"
              autocomplete="new-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </Field>
        )}
        <Field label="Roles" error={err('roles')}>
          <RolePicker roles={roles} onChange={setRoles} />
        </Field>
        {errs.general && <ErrorNotice error={action.error} />}
        <FormActions busy={action.busy} submit={user ? 'Save' : 'Create user'} onCancel={() => onDone(false)} />
      </form>
    </Modal>
  );
}

export function Users() {
  // The members of the caller's organization carry their roles there.
  const org = session.value?.claims.organization;
  const users = usePoll(() => api<User[]>(org ? `/api/users/${org}` : '/api/users'), 10000, [org]);
  const [editing, setEditing] = useState<User | 'new' | null>(null);
  const [filter, setFilter] = useState('');
  const del = useAction();
  const me = session.value?.claims.sub;
  const shown = (users.data ?? []).filter((u) => u.name.toLowerCase().includes(filter.toLowerCase()));

  return (
    <div class="page">
      <div class="page-head">
        <h1>Users</h1>
        <div class="row-actions">
          <input type="search" placeholder="Search by name" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
          <button type="button" class="primary" onClick={() => setEditing('new')}>
            New user
          </button>
        </div>
      </div>
      <ErrorNotice error={users.error} />
      <ErrorNotice error={del.error} title="Delete failed" />
      {users.loading && !users.data ? (
        <Loading what="users" />
      ) : shown.length === 0 ? (
        <Empty title={filter ? 'No user matches' : 'No users'} />
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Name</th>
              <th>E-mail</th>
              <th>Roles</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((u) => (
              <tr key={u.name}>
                <td>{u.name}</td>
                <td>{u.email || <span class="muted">—</span>}</td>
                <td>
                  {(u.roles ?? []).map((r) => (
                    <span key={r} class="chip">
                      {r.replace('_', ' ')}
                    </span>
                  ))}
                </td>
                <td class="muted small">{u.created_at}</td>
                <td class="row-actions">
                  <button type="button" onClick={() => setEditing(u)}>
                    Edit
                  </button>
                  {u.name !== me && (
                    <ConfirmButton
                      label="Delete"
                      confirm={`Delete ${u.name}?`}
                      onConfirm={() =>
                        void del.run(async () => {
                          await api(`/api/user/${encodeURIComponent(u.name)}`, { method: 'DELETE' });
                          notify(`User ${u.name} deleted`);
                          await users.reload();
                        })
                      }
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <UserDialog
          user={editing === 'new' ? undefined : editing}
          onDone={(changed) => {
            setEditing(null);
            if (changed) void users.reload();
          }}
        />
      )}
    </div>
  );
}
