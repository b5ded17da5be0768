// The infrastructure page's reads of /api/workers, /api/alerts and /api/logs, as pure functions.
import type { Alert, WorkerView } from './types';

const rank = (a: Alert) => (a.state === 'firing' ? 0 : 2) + (a.severity === 'critical' ? 0 : 1);

// The alerts the root answered, kept as far as they make sense: firing before pending, critical
// before warning, otherwise in the root's order.
export function parseAlerts(v: unknown): Alert[] {
  if (!Array.isArray(v)) return [];
  const out: Alert[] = [];
  for (const x of v) {
    if (!x || typeof x !== 'object' || typeof x.name !== 'string') continue;
    const labels: Record<string, string> = {};
    for (const [k, l] of Object.entries(x.labels ?? {})) labels[k] = String(l);
    const str = (k: string) => (typeof x[k] === 'string' ? x[k] : '');
    out.push({ name: x.name, severity: str('severity'), state: str('state'), labels, summary: str('summary'), active_since: str('active_since') });
  }
  return out.map((a, i) => ({ a, i })).sort((p, q) => rank(p.a) - rank(q.a) || p.i - q.i).map((p) => p.a);
}

// Workers by cluster id, each cluster's sorted by name.
export function workersByCluster(list: WorkerView[]): Map<string, WorkerView[]> {
  const by = new Map<string, WorkerView[]>();
  for (const w of list) by.set(w.cluster_id, [...(by.get(w.cluster_id) ?? []), w]);
  for (const ws of by.values()) ws.sort((a, b) => a.name.localeCompare(b.name));
  return by;
}

export const components = ['root', 'cluster', 'worker'] as const;
export const levels = ['debug', 'info', 'warn', 'error'] as const;

export interface LogFilter {
  component: string; // '' for all
  level: string; // the lowest
}

// GET /api/logs for `f`: the newest `limit` records, then (follow) new ones as they come.
export function controlLogPath(f: LogFilter, limit: number, follow: boolean): string {
  const q = new URLSearchParams();
  if (f.component) q.set('component', f.component);
  if (f.level) q.set('level', f.level);
  q.set('limit', String(limit));
  if (follow) q.set('follow', 'true');
  return `/api/logs?${q}`;
}

// "2026-01-02T10:11:12.345Z" → seconds since the epoch (0 when it is not a time).
export function epochSeconds(time: string): number {
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? ms / 1000 : 0;
}

// "4 cores · 7.8 GB · container, unikernel (KVM) · amd64": what a worker is made of, for a list.
export function workerDetails(w: WorkerView): string {
  const parts: string[] = [];
  if (w.cores_total) parts.push(`${+w.cores_total.toFixed(1)} cores`);
  if (w.memory_total_mb) parts.push(`${(w.memory_total_mb / 1024).toFixed(1)} GB`);
  if (w.runtimes?.length) {
    parts.push(
      w.runtimes
        .map((r) => (r === 'docker' ? 'container' : r === 'unikernel' && w.acceleration ? `unikernel (${w.acceleration === 'kvm' ? 'KVM' : w.acceleration})` : r))
        .join(', '),
    );
  }
  if (w.archs?.length) parts.push(w.archs.join(', '));
  return parts.join(' · ');
}
