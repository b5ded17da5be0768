// Clusters as the root sees them: liveness, capacity, runtimes and architectures, their workers,
// a map of their locations; the root's own health and alerts, and for Admins the control-plane log.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Alerts } from '../components/Alerts';
import { ControlLogs } from '../components/ControlLogs';
import { Empty, ErrorNotice, formatTime, Loading } from '../components/ui';
import { useAction, usePoll } from '../hooks';
import { workerDetails, workersByCluster } from '../infra';
import { isAdmin } from '../session';
import { oid, type ClusterView, type WorkerView } from '../types';

interface Capacity {
  cores_total?: number;
  cores_free?: number;
  memory_total_mb?: number;
  memory_free_mb?: number;
}
interface Resources extends Capacity {
  nodes?: number;
  gpus_total?: number;
  gpus_free?: number;
  disk_total_mb?: number;
  disk_free_mb?: number;
  runtimes?: string[];
  per_arch?: Record<string, Capacity>;
  location?: { lat: number; lon: number } | null;
  radius_km?: number;
}

export function locationOf(c: ClusterView): { lat: number; lon: number } | null {
  const r = (c.resources ?? {}) as Resources;
  if (r.location && Number.isFinite(r.location.lat) && Number.isFinite(r.location.lon)) return r.location;
  const parts = (c.cluster_location ?? '').split(',').map(Number);
  if (parts.length >= 2 && parts.every(Number.isFinite) && Math.abs(parts[0]) <= 90 && Math.abs(parts[1]) <= 180) {
    return { lat: parts[0], lon: parts[1] };
  }
  return null;
}

function Meter({ label, used, total, unit }: { label: string; used: number; total: number; unit: string }) {
  const pct = total > 0 ? Math.min(100, (100 * used) / total) : 0;
  const tone = pct > 80 ? 'bad' : pct > 50 ? 'work' : 'ok';
  return (
    <div class="meter">
      <div class="meter-label">
        <span>{label}</span>
        <span class="muted small">
          {total > 0 ? `${used.toFixed(unit === 'cores' ? 1 : 0)} / ${total.toFixed(unit === 'cores' ? 1 : 0)} ${unit} used` : 'none'}
        </span>
      </div>
      <div class="bar" role="meter" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100} aria-label={label}>
        <div class={`fill tone-${tone}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

function WorldMap({ clusters }: { clusters: ClusterView[] }) {
  const placed = clusters.map((c) => ({ c, at: locationOf(c) })).filter((x) => x.at);
  const x = (lon: number) => ((lon + 180) / 360) * 720;
  const y = (lat: number) => ((90 - lat) / 180) * 360;
  if (placed.length === 0) {
    return (
      <p class="muted small">
        No cluster reports a location; start clusters with one (latitude, longitude) to see them on a map.
      </p>
    );
  }
  return (
    <figure class="card map">
      <svg viewBox="0 0 720 360" role="img" aria-label="Cluster locations">
        <rect width="720" height="360" class="sea" />
        {[-60, -30, 0, 30, 60].map((lat) => (
          <line key={`a${lat}`} x1="0" x2="720" y1={y(lat)} y2={y(lat)} class="grid-line" />
        ))}
        {[-120, -60, 0, 60, 120].map((lon) => (
          <line key={`o${lon}`} y1="0" y2="360" x1={x(lon)} x2={x(lon)} class="grid-line" />
        ))}
        {placed.map(({ c, at }) => (
          <g key={oid(c) || c.cluster_name} class={c.active ? 'pin active' : 'pin'}>
            <circle cx={x(at!.lon)} cy={y(at!.lat)} r="6" />
            <text x={x(at!.lon) + 9} y={y(at!.lat) + 4}>
              {c.cluster_name}
            </text>
          </g>
        ))}
      </svg>
      <figcaption class="muted small">
        {placed.length} of {clusters.length} clusters have a location (latitude, longitude).
      </figcaption>
    </figure>
  );
}

function Workers({ workers }: { workers: WorkerView[] }) {
  return (
    <ul class="workers" aria-label="Workers">
      {workers.map((w) => (
        <li key={w.id} data-worker={w.name} title={w.id}>
          <span class={`badge tone-${w.active ? 'ok' : 'bad'}`}>{w.active ? 'active' : 'lost'}</span>
          {w.name}
          {workerDetails(w) && <span class="muted small worker-details">{workerDetails(w)}</span>}
        </li>
      ))}
    </ul>
  );
}

function ClusterCard({ c, workers }: { c: ClusterView; workers?: WorkerView[] }) {
  const r = (c.resources ?? {}) as Resources;
  const state = c.active ? 'active' : c.connected ? 'connected, not reporting' : 'offline';
  const at = locationOf(c);
  return (
    <section class="card cluster" data-cluster={c.cluster_name}>
      <header>
        <div>
          <h2>{c.cluster_name}</h2>
          <div class="muted small">{oid(c)}</div>
        </div>
        <span class={`badge tone-${c.active ? 'ok' : c.connected ? 'work' : 'bad'}`}>{state}</span>
      </header>
      <dl class="facts">
        <dt>Workers</dt>
        <dd>{r.nodes ?? 0}</dd>
        <dt>Runtimes</dt>
        <dd>{r.runtimes?.length ? r.runtimes.map((x) => (x === 'docker' ? 'container' : x)).join(', ') : '—'}</dd>
        <dt>Architectures</dt>
        <dd>{r.per_arch && Object.keys(r.per_arch).length ? Object.keys(r.per_arch).join(', ') : '—'}</dd>
        <dt>GPUs</dt>
        <dd>{r.gpus_total ? `${r.gpus_free ?? 0} free of ${r.gpus_total}` : 'none'}</dd>
        <dt>Location</dt>
        <dd>{at ? `${at.lat.toFixed(3)}, ${at.lon.toFixed(3)}${r.radius_km ? ` (± ${r.radius_km} km)` : ''}` : c.cluster_location || '—'}</dd>
        <dt>Last report</dt>
        <dd>{formatTime(c.last_modified_timestamp)}</dd>
      </dl>
      {workers && <Workers workers={workers} />}
      <Meter label="CPU" used={(r.cores_total ?? 0) - (r.cores_free ?? 0)} total={r.cores_total ?? 0} unit="cores" />
      <Meter label="Memory" used={(r.memory_total_mb ?? 0) - (r.memory_free_mb ?? 0)} total={r.memory_total_mb ?? 0} unit="MB" />
      {(r.disk_total_mb ?? 0) > 0 && (
        <Meter label="Disk" used={(r.disk_total_mb ?? 0) - (r.disk_free_mb ?? 0)} total={r.disk_total_mb ?? 0} unit="MB" />
      )}
      {r.per_arch && Object.keys(r.per_arch).length > 1 && (
        <table class="list compact">
          <thead>
            <tr>
              <th>Architecture</th>
              <th>Cores free</th>
              <th>Memory free</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(r.per_arch).map(([arch, cap]) => (
              <tr key={arch}>
                <td>{arch}</td>
                <td>
                  {cap.cores_free ?? 0} / {cap.cores_total ?? 0}
                </td>
                <td>
                  {cap.memory_free_mb ?? 0} / {cap.memory_total_mb ?? 0} MB
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Health() {
  const health = usePoll(
    async () => {
      const t0 = performance.now();
      await api('/healthz');
      return performance.now() - t0;
    },
    5000,
    [],
  );
  const ok = health.data !== undefined && !health.error;
  return (
    <section class="card health">
      <h2>Control plane</h2>
      <p>
        Root API: <span class={`badge tone-${ok ? 'ok' : health.loading ? 'wait' : 'bad'}`}>{ok ? 'healthy' : health.loading ? 'checking' : 'unreachable'}</span>
        {ok && <span class="muted small"> answered in {health.data!.toFixed(0)} ms</span>}
      </p>
      <p class="small">
        <a href="/api/docs/openapi.json" target="_blank" rel="noreferrer">
          API description (OpenAPI)
        </a>
      </p>
    </section>
  );
}

function JoinHelp() {
  const [token, setToken] = useState('');
  const action = useAction();
  return (
    <div class="stack">
      <p>Start a cluster orchestrator and point it at this root:</p>
      <pre class="cmd">
        oakestra cluster --root {location.origin} --name edge1 --token {token || '<cluster token>'}
      </pre>
      {isAdmin.value && !token && (
        <button
          type="button"
          onClick={() => void action.run(async () => setToken((await api<{ token: string }>('/api/clusters/token')).token))}
        >
          Show the cluster token
        </button>
      )}
      <ErrorNotice error={action.error} />
    </div>
  );
}

export function Infrastructure() {
  const clusters = usePoll(() => api<ClusterView[]>('/api/v1/resources/clusters'), 5000, []);
  const workers = usePoll(() => api<WorkerView[]>('/api/workers'), 5000, []);
  const list = clusters.data ?? [];
  const byCluster = workersByCluster(workers.data ?? []);
  const all = workers.data ?? [];
  return (
    <div class="page">
      <div class="page-head">
        <h1>Infrastructure</h1>
        <div class="muted">
          {list.filter((c) => c.active).length} of {list.length} clusters active
          {all.length > 0 && `, ${all.filter((w) => w.active).length} of ${all.length} workers`}
        </div>
      </div>
      <Alerts />
      <ErrorNotice error={clusters.error ?? workers.error} />
      <div class="columns">
        <Health />
      </div>
      {clusters.loading && !clusters.data ? (
        <Loading what="clusters" />
      ) : clusters.data && list.length === 0 ? (
        <Empty title="No clusters yet">
          <JoinHelp />
        </Empty>
      ) : (
        <>
          <WorldMap clusters={list} />
          <div class="cards">
            {list.map((c) => (
              <ClusterCard key={oid(c) || c.cluster_name} c={c} workers={byCluster.get(oid(c))} />
            ))}
          </div>
        </>
      )}
      {isAdmin.value && <ControlLogs />}
    </div>
  );
}
