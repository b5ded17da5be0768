// The services of one application, their instances and addresses, with scaling actions.
import { api } from '../api';
import { ConfirmButton, Copyable, downloadText, Empty, ErrorNotice, Loading, notify, StatusBadge } from '../components/ui';
import { clusterNames } from '../data';
import { useAction, usePoll } from '../hooks';
import { navigate, type Params } from '../router';
import { definitionOf } from '../sla';
import type { Application, Instance, Service } from '../types';

function Addresses({ s }: { s: Service }) {
  const list = s.service_ip_list ?? [];
  if (list.length === 0) return <span class="muted">no service addresses</span>;
  return (
    <table class="addresses">
      <tbody>
        {list.map((ip) => (
          <tr key={ip.IpType}>
            <th title={ip.IpType === 'RR' ? 'round robin over all instances' : 'the closest instance'}>
              {ip.IpType === 'RR' ? 'Round robin' : ip.IpType}
            </th>
            <td>
              <Copyable text={ip.Address} />
            </td>
            <td>
              <Copyable text={ip.Address_v6} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function InstanceRow({
  s,
  i,
  clusters,
  onRemove,
}: {
  s: Service;
  i: Instance;
  clusters: Map<string, string> | undefined;
  onRemove: () => void;
}) {
  const href = `/services/${s.microserviceID}/instances/${i.instance_number}`;
  const cluster = i.cluster_id ? (clusters?.get(i.cluster_id) ?? i.cluster_id) : '';
  return (
    <tr data-instance={i.instance_number}>
      <td>
        <a href={href}>#{i.instance_number}</a>
      </td>
      <td>
        <StatusBadge status={i.status} detail={i.status_detail} />
        {i.status_detail && i.status_detail !== 'No extra information' && (
          <div class="muted small">{i.status_detail}</div>
        )}
      </td>
      <td>{i.worker_name || <span class="muted">—</span>}</td>
      <td>{cluster || <span class="muted">—</span>}</td>
      <td>
        <Copyable text={i.instance_ip} />
      </td>
      <td>
        <Copyable text={i.instance_ip_v6} />
      </td>
      <td>
        {i.publicip ? (
          <code>
            {i.publicip}
            {i.host_port ? `:${i.host_port}` : ''}
          </code>
        ) : (
          <span class="muted">—</span>
        )}
      </td>
      <td class="row-actions">
        <button type="button" onClick={() => navigate(href)}>
          Details &amp; logs
        </button>
        <ConfirmButton label="Remove" confirm={`Remove instance ${i.instance_number}?`} onConfirm={onRemove} />
      </td>
    </tr>
  );
}

function ServiceCard({
  s,
  clusters,
  reload,
}: {
  s: Service;
  clusters: Map<string, string> | undefined;
  reload: () => Promise<void>;
}) {
  const action = useAction();
  const instances = s.instance_list ?? [];
  const run = (what: string, fn: () => Promise<unknown>) =>
    void action.run(async () => {
      await fn();
      notify(what);
      await reload();
    });
  const base = `/api/service/${s.microserviceID}`;

  return (
    <section class="card service" data-service={s.microservice_name}>
      <header>
        <div>
          <h2>
            {s.microservice_name}
            <span class="muted"> .{s.microservice_namespace}</span>
          </h2>
          <div class="muted small">
            {s.virtualization === 'docker' ? 'container' : s.virtualization} · <code>{s.code || s.image}</code>
            {s.one_shot ? ' · one-shot' : ''}
          </div>
        </div>
        <StatusBadge status={s.status} detail={s.status_detail} />
      </header>
      <div class="service-body">
        <div>
          <h3>Service addresses</h3>
          <Addresses s={s} />
        </div>
        <div class="row-actions wrap">
          <button
            type="button"
            class="primary"
            disabled={action.busy}
            onClick={() => run(`One more instance of ${s.microservice_name} requested`, () => api(`${base}/instance`, { method: 'POST' }))}
          >
            Deploy one more
          </button>
          <ConfirmButton
            label="Remove all instances"
            class="warn"
            disabled={instances.length === 0 || action.busy}
            confirm="Remove every instance?"
            onConfirm={() =>
              run(`Instances of ${s.microservice_name} removed`, () => api(`${base}/instance/-1`, { method: 'DELETE' }))
            }
          />
          <button type="button" onClick={() => navigate(`/services/${s.microserviceID}/edit`)}>
            Edit
          </button>
          <button
            type="button"
            onClick={() =>
              downloadText(
                `${s.microservice_name}.json`,
                JSON.stringify({ microservices: [definitionOf(s)] }, null, 2),
                'application/json',
              )
            }
          >
            Download definition
          </button>
          <ConfirmButton
            label="Delete service"
            confirm={`Delete ${s.microservice_name} and its instances?`}
            onConfirm={() => run(`Service ${s.microservice_name} deleted`, () => api(base, { method: 'DELETE' }))}
          />
        </div>
      </div>
      <ErrorNotice error={action.error} />
      {instances.length === 0 ? (
        <p class="muted">No instances. “Deploy one more” asks the scheduler to place one.</p>
      ) : (
        <table class="list instances">
          <thead>
            <tr>
              <th>Instance</th>
              <th>Status</th>
              <th>Worker</th>
              <th>Cluster</th>
              <th>Instance IP</th>
              <th>Instance IPv6</th>
              <th>Public</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {instances.map((i) => (
              <InstanceRow
                key={i.instance_number}
                s={s}
                i={i}
                clusters={clusters}
                onRemove={() =>
                  run(`Instance ${i.instance_number} removed`, () =>
                    api(`${base}/instance/${i.instance_number}`, { method: 'DELETE' }),
                  )
                }
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Services({ params }: { params: Params }) {
  const { appId } = params;
  const app = usePoll(() => api<Application>(`/api/application/${appId}`), 10000, [appId]);
  const services = usePoll(() => api<Service[]>(`/api/services/${appId}`), 2000, [appId]);
  const clusters = usePoll(clusterNames, 10000, []);
  const all = useAction();

  const deployAll = () =>
    void all.run(async () => {
      for (const s of services.data ?? []) {
        await api(`/api/service/${s.microserviceID}/instance`, { method: 'POST' });
      }
      notify('One more instance of every service requested');
      await services.reload();
    });

  const a = app.data;
  return (
    <div class="page">
      <div class="crumbs">
        <a href="/apps">Applications</a> / {a?.application_name ?? '…'}
      </div>
      <div class="page-head">
        <div>
          <h1>
            {a?.application_name ?? 'Application'}
            {a && <span class="muted"> .{a.application_namespace}</span>}
          </h1>
          {a?.application_desc && <p class="muted">{a.application_desc}</p>}
        </div>
        <div class="row-actions">
          <button type="button" class="primary" onClick={() => navigate(`/apps/${appId}/new-service`)}>
            Add service
          </button>
          <button type="button" disabled={!services.data?.length || all.busy} onClick={deployAll}>
            Deploy all
          </button>
        </div>
      </div>
      <ErrorNotice error={app.error} />
      <ErrorNotice error={services.error} />
      <ErrorNotice error={all.error} />
      {services.loading && !services.data ? (
        <Loading what="services" />
      ) : services.data && services.data.length === 0 ? (
        <Empty title="No services in this application">
          <p>Add a service with the form or paste its SLA as JSON.</p>
          <button type="button" class="primary" onClick={() => navigate(`/apps/${appId}/new-service`)}>
            Add a service
          </button>
        </Empty>
      ) : (
        services.data?.map((s) => (
          <ServiceCard key={s.microserviceID} s={s} clusters={clusters.data} reload={services.reload} />
        ))
      )}
    </div>
  );
}
