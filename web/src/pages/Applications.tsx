import { useState } from 'preact/hooks';
import { api } from '../api';
import { JsonEditor, parseJson } from '../components/JsonEditor';
import { ConfirmButton, Empty, ErrorNotice, Field, FormActions, Loading, Modal, notify } from '../components/ui';
import { customerId, listApplications } from '../data';
import { useAction, usePoll } from '../hooks';
import { navigate } from '../router';
import { isAdmin } from '../session';
import { fieldErrors, newApplicationSla } from '../sla';
import type { Application } from '../types';

const appFields = new Set(['application_name', 'application_namespace', 'application_desc']);

function sampleSla(): string {
  return JSON.stringify(
    {
      sla_version: 'v2.0',
      customerID: customerId(),
      applications: [
        {
          application_name: 'myapp',
          application_namespace: 'default',
          application_desc: 'An example application',
          microservices: [
            {
              microservice_name: 'web',
              microservice_namespace: 'default',
              virtualization: 'container',
              code: 'docker.io/library/nginx:latest',
              memory: 100,
              vcpus: 1,
              port: '8080:80',
            },
          ],
        },
      ],
    },
    null,
    2,
  );
}

function AppDialog({ app, onDone }: { app?: Application; onDone: (changed: boolean) => void }) {
  const [tab, setTab] = useState<'form' | 'json'>('form');
  const [name, setName] = useState(app?.application_name ?? '');
  const [ns, setNs] = useState(app?.application_namespace ?? 'default');
  const [desc, setDesc] = useState(app?.application_desc ?? '');
  const [json, setJson] = useState(sampleSla);
  const action = useAction();
  // The form's fields take the server's messages about them (create: "applications[0].x", edit:
  // "x"); the JSON editor shows every message under the text.
  const errs = fieldErrors(action.error, 'applications[0]', (p) => tab === 'form' && appFields.has(p));
  const fieldError = (f: string) => errs.fields[f];

  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      if (app) {
        await api(`/api/application/${app.applicationID}`, {
          method: 'PUT',
          body: { application_name: name, application_namespace: ns, application_desc: desc },
        });
        notify(`Application ${name} updated`);
      } else if (tab === 'form') {
        await api('/api/application', { method: 'POST', body: newApplicationSla(customerId(), name, ns, desc) });
        notify(`Application ${name} created`);
      } else {
        const parsed = parseJson(json);
        if (parsed.error) throw new Error(parsed.error);
        await api('/api/application', { method: 'POST', body: parsed.value });
        notify('Applications of the SLA created');
      }
      onDone(true);
    });
  };

  return (
    <Modal title={app ? `Edit ${app.application_name}` : 'New application'} onClose={() => onDone(false)}>
      <form onSubmit={submit} class="stack">
        {!app && (
          <div class="tabs" role="tablist">
            <button type="button" role="tab" aria-selected={tab === 'form'} onClick={() => setTab('form')}>
              Form
            </button>
            <button type="button" role="tab" aria-selected={tab === 'json'} onClick={() => setTab('json')}>
              JSON (full SLA)
            </button>
          </div>
        )}
        {tab === 'form' ? (
          <>
            <Field label="Name" error={fieldError('application_name')} hint="letters and digits, at most 30">
              <input name="application_name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </Field>
            <Field label="Namespace" error={fieldError('application_namespace')} hint="letters and digits, at most 30">
              <input
                name="application_namespace"
                required
                value={ns}
                onInput={(e) => setNs(e.currentTarget.value)}
              />
            </Field>
            <Field label="Description" error={fieldError('application_desc')}>
              <input name="application_desc" value={desc} onInput={(e) => setDesc(e.currentTarget.value)} />
            </Field>
          </>
        ) : (
          <JsonEditor
            label="SLA"
            value={json}
            onChange={setJson}
            error={errs.general || undefined}
          />
        )}
        {tab === 'form' && errs.general && <ErrorNotice error={action.error} />}
        <FormActions busy={action.busy} submit={app ? 'Save' : 'Create'} onCancel={() => onDone(false)} />
      </form>
    </Modal>
  );
}

export function Applications() {
  const apps = usePoll(listApplications, 5000, []);
  const [editing, setEditing] = useState<Application | 'new' | null>(null);
  const del = useAction();

  const done = (changed: boolean) => {
    setEditing(null);
    if (changed) void apps.reload();
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>Applications</h1>
        <button type="button" class="primary" onClick={() => setEditing('new')}>
          New application
        </button>
      </div>
      <ErrorNotice error={apps.error} />
      <ErrorNotice error={del.error} title="Delete failed" />
      {apps.loading && !apps.data ? (
        <Loading what="applications" />
      ) : apps.data && apps.data.length === 0 ? (
        <Empty title="No applications yet">
          <p>
            An application groups services. Create one, then add services to it with the form or
            an SLA file.
          </p>
          <button type="button" class="primary" onClick={() => setEditing('new')}>
            Create your first application
          </button>
        </Empty>
      ) : apps.data ? (
        <table class="list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Namespace</th>
              <th>Description</th>
              <th>Services</th>
              {isAdmin.value && <th>Owner</th>}
              <th />
            </tr>
          </thead>
          <tbody>
            {apps.data.map((a) => (
              <tr key={a.applicationID} data-app={a.application_name}>
                <td>
                  <a href={`/apps/${a.applicationID}`}>{a.application_name}</a>
                </td>
                <td>{a.application_namespace}</td>
                <td class="muted">{a.application_desc}</td>
                <td>{a.microservices?.length ?? 0}</td>
                {isAdmin.value && <td>{a.userId}</td>}
                <td class="row-actions">
                  <button type="button" onClick={() => navigate(`/apps/${a.applicationID}`)}>
                    Open
                  </button>
                  <button type="button" onClick={() => setEditing(a)}>
                    Edit
                  </button>
                  <ConfirmButton
                    label="Delete"
                    confirm={`Delete ${a.application_name} and all its services?`}
                    onConfirm={() =>
                      void del.run(async () => {
                        await api(`/api/application/${a.applicationID}`, { method: 'DELETE' });
                        notify(`Application ${a.application_name} deleted`);
                        await apps.reload();
                      })
                    }
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {editing && <AppDialog app={editing === 'new' ? undefined : editing} onDone={done} />}
    </div>
  );
}
