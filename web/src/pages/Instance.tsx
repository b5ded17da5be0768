// One instance: where it runs, its status over time, CPU and memory, and its live logs.
import { useRef } from 'preact/hooks';
import { api } from '../api';
import { Chart, type Sample } from '../components/Chart';
import { LogViewer } from '../components/LogViewer';
import { Copyable, ErrorNotice, Loading, StatusBadge } from '../components/ui';
import { clusterNames } from '../data';
import { usePoll } from '../hooks';
import type { Params } from '../router';
import type { Instance, Service } from '../types';

const kSamples = 300;

interface Transition {
  at: number;
  status: string;
  detail: string;
}

export function InstancePage({ params }: { params: Params }) {
  const { serviceId, n } = params;
  const number = Number(n);
  const history = useRef<Transition[]>([]);
  const cpu = useRef<Sample[]>([]);
  const mem = useRef<Sample[]>([]);
  const service = usePoll(
    async () => {
      const s = await api<Service>(`/api/service/${serviceId}`);
      const i = s.instance_list?.find((x) => x.instance_number === number);
      const now = Date.now();
      if (i) {
        const last = history.current.at(-1);
        if (!last || last.status !== i.status || last.detail !== (i.status_detail ?? '')) {
          history.current = [...history.current, { at: now, status: i.status ?? '', detail: i.status_detail ?? '' }];
        }
        if (i.status === 'RUNNING') {
          cpu.current = [...cpu.current, { t: now, v: i.cpu ?? 0 }].slice(-kSamples);
          mem.current = [...mem.current, { t: now, v: i.memory ?? 0 }].slice(-kSamples);
        }
      }
      return s;
    },
    2000,
    [serviceId, n],
  );
  const clusters = usePoll(clusterNames, 15000, []);

  const s = service.data;
  const i: Instance | undefined = s?.instance_list?.find((x) => x.instance_number === number);
  const name = s?.microservice_name ?? '';
  return (
    <div class="page">
      <div class="crumbs">
        <a href="/apps">Applications</a> / {s ? <a href={`/apps/${s.applicationID}`}>{s.app_name ?? 'application'}</a> : '…'} /{' '}
        {name || '…'} / instance {n}
      </div>
      <h1>
        {name || 'Instance'} <span class="muted">#{n}</span> {i && <StatusBadge status={i.status} detail={i.status_detail} />}
      </h1>
      <ErrorNotice error={service.error} />
      {service.loading && !s ? (
        <Loading what="the instance" />
      ) : s && !i ? (
        <div class="notice warn">
          Instance {n} of {name} does not exist (any more). It may have been removed.{' '}
          <a href={`/apps/${s.applicationID}`}>Back to the services</a>
        </div>
      ) : (
        s &&
        i && (
          <>
            <div class="columns">
              <section class="card">
                <h2>Placement</h2>
                <dl class="facts">
                  <dt>Status</dt>
                  <dd>
                    <StatusBadge status={i.status} /> <span class="muted">{i.status_detail}</span>
                  </dd>
                  <dt>Worker</dt>
                  <dd>{i.worker_name || '—'}</dd>
                  <dt>Cluster</dt>
                  <dd>{i.cluster_id ? (clusters.data?.get(i.cluster_id) ?? i.cluster_id) : '—'}</dd>
                  <dt>Instance IP</dt>
                  <dd>
                    <Copyable text={i.instance_ip} /> <Copyable text={i.instance_ip_v6} />
                  </dd>
                  <dt>Namespace IP</dt>
                  <dd>
                    <Copyable text={i.namespace_ip} /> <Copyable text={i.namespace_ip_v6} />
                  </dd>
                  <dt>Public</dt>
                  <dd>
                    <Copyable text={i.publicip ? `${i.publicip}${i.host_port ? `:${i.host_port}` : ''}` : ''} />
                  </dd>
                  <dt>Job</dt>
                  <dd>
                    <Copyable text={s.job_name} />
                  </dd>
                </dl>
              </section>
              <section class="card">
                <h2>Status history</h2>
                <ol class="history">
                  {history.current
                    .slice()
                    .reverse()
                    .map((h) => (
                      <li key={h.at}>
                        <span class="time">{new Date(h.at).toLocaleTimeString()}</span> <StatusBadge status={h.status} />{' '}
                        <span class="muted small">{h.detail}</span>
                      </li>
                    ))}
                </ol>
                <p class="muted small">Changes seen since this page was opened.</p>
              </section>
              <section class="card">
                <h2>Usage</h2>
                <Chart title="CPU" unit="%" samples={cpu.current} max={100} />
                <Chart title="Memory" unit="MB" samples={mem.current} max={s.memory} />
              </section>
            </div>
            {i.logs && i.status !== 'RUNNING' && (
              <section class="card">
                <h2>Last output</h2>
                <pre class="last-output">{i.logs}</pre>
              </section>
            )}
            {i.cluster_id ? (
              <LogViewer
                key={`${serviceId}/${n}`}
                serviceId={serviceId}
                instance={number}
                name={name}
                live={i.status === 'RUNNING'}
              />
            ) : (
              <div class="notice info">Logs are available once the instance is placed on a cluster.</div>
            )}
          </>
        )
      )}
    </div>
  );
}
