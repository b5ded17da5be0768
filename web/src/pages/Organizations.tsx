// Organizations (Admins): create, rename, members and their roles, delete.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ConfirmButton, Empty, ErrorNotice, Field, Loading, notify } from '../components/ui';
import { useAction, usePoll } from '../hooks';
import { oid, type Member, type Organization, type User } from '../types';
import { RolePicker } from './Users';

function OrgCard({ org, users, reload }: { org: Organization; users: User[]; reload: () => Promise<void> }) {
  const [name, setName] = useState(org.name);
  const [adding, setAdding] = useState('');
  const action = useAction();
  const members = org.member ?? [];
  const userName = (id: string) => users.find((u) => oid(u) === id)?.name ?? id;
  const save = (body: { name: string; member: Member[] }, what: string) =>
    void action.run(async () => {
      await api(`/api/organization/${oid(org)}`, { method: 'PUT', body });
      notify(what);
      await reload();
    });
  const candidates = users.filter((u) => !members.some((m) => m.user_id === oid(u)));

  return (
    <section class="card" data-org={org.name}>
      <header>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            save({ name, member: members }, `Organization renamed to ${name}`);
          }}
        >
          <Field label="Name">
            <input value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={name === org.name || action.busy}>
            Rename
          </button>
        </form>
        <ConfirmButton
          label="Delete"
          confirm={`Delete ${org.name}?`}
          onConfirm={() =>
            void action.run(async () => {
              await api(`/api/organization/${oid(org)}`, { method: 'DELETE' });
              notify(`Organization ${org.name} deleted`);
              await reload();
            })
          }
        />
      </header>
      <ErrorNotice error={action.error} />
      <h3>Members ({members.length})</h3>
      {members.length === 0 && <p class="muted">No members.</p>}
      {members.map((m) => (
        <div key={m.user_id} class="member">
          <strong>{userName(m.user_id)}</strong>
          <RolePicker
            roles={m.roles ?? []}
            onChange={(roles) =>
              save(
                { name: org.name, member: members.map((x) => (x.user_id === m.user_id ? { ...x, roles } : x)) },
                `Roles of ${userName(m.user_id)} changed`,
              )
            }
          />
          <button
            type="button"
            class="small"
            onClick={() =>
              save({ name: org.name, member: members.filter((x) => x.user_id !== m.user_id) }, `${userName(m.user_id)} removed`)
            }
          >
            Remove
          </button>
        </div>
      ))}
      {candidates.length > 0 && (
        <div class="row-actions">
          <select value={adding} onChange={(e) => setAdding(e.currentTarget.value)} aria-label="User to add">
            <option value="">Add a member…</option>
            {candidates.map((u) => (
              <option key={oid(u)} value={oid(u)}>
                {u.name}
              </option>
            ))}
          </select>
          <button
            type="button"
            disabled={!adding}
            onClick={() => {
              save(
                { name: org.name, member: [...members, { user_id: adding, roles: ['Application_Provider'] }] },
                `${userName(adding)} added`,
              );
              setAdding('');
            }}
          >
            Add
          </button>
        </div>
      )}
    </section>
  );
}

export function Organizations() {
  const orgs = usePoll(() => api<Organization[]>('/api/organization'), 10000, []);
  const users = usePoll(() => api<User[]>('/api/users'), 30000, []);
  const [name, setName] = useState('');
  const create = useAction();
  return (
    <div class="page">
      <div class="page-head">
        <h1>Organizations</h1>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void create.run(async () => {
              await api('/api/organization', { method: 'POST', body: { name, member: [] } });
              notify(`Organization ${name} created`);
              setName('');
              await orgs.reload();
            });
          }}
        >
          <input placeholder="New organization" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          <button type="submit" class="primary" disabled={create.busy}>
            Create
          </button>
        </form>
      </div>
      <ErrorNotice error={create.error} />
      <ErrorNotice error={orgs.error} />
      {orgs.loading && !orgs.data ? (
        <Loading what="organizations" />
      ) : orgs.data?.length === 0 ? (
        <Empty title="No organizations" />
      ) : (
        <div class="cards">
          {orgs.data?.map((o) => <OrgCard key={oid(o)} org={o} users={users.data ?? []} reload={orgs.reload} />)}
        </div>
      )}
    </div>
  );
}
