import { describe, expect, it } from 'vitest';
import { controlLogPath, epochSeconds, parseAlerts, workersByCluster } from '../src/infra';
import { appendBounded } from '../src/logfeed';
import { parseEventData, toEvent } from '../src/logstream';

describe('alerts', () => {
  it('puts firing before pending and critical before warning, keeping the order otherwise', () => {
    const alerts = parseAlerts([
      { name: 'A', severity: 'warning', state: 'pending', labels: {}, summary: 'a', active_since: 't' },
      { name: 'B', severity: 'warning', state: 'firing', labels: { worker: 'w1' }, summary: 'b' },
      { name: 'C', severity: 'critical', state: 'firing', labels: { cluster: 'edge' } },
      { name: 'D', severity: 'warning', state: 'firing', labels: { n: 3 } },
    ]);
    expect(alerts.map((a) => a.name)).toEqual(['C', 'B', 'D', 'A']);
    expect(alerts[1]).toEqual({ name: 'B', severity: 'warning', state: 'firing', labels: { worker: 'w1' }, summary: 'b', active_since: '' });
    expect(alerts[2].labels).toEqual({ n: '3' });
  });

  it('leaves out what is not an alert', () => {
    expect(parseAlerts({ message: 'no' })).toEqual([]);
    expect(parseAlerts([null, 3, { severity: 'critical' }, { name: 'X' }]).map((a) => a.name)).toEqual(['X']);
  });
});

describe('workers', () => {
  it('groups workers by cluster, sorted by name', () => {
    const w = (name: string, cluster_id: string, active = true) => ({ id: `${name}-id`, name, active, cluster_id, cluster_name: cluster_id });
    const by = workersByCluster([w('w2', 'c1'), w('w9', 'c2', false), w('w1', 'c1')]);
    expect(by.get('c1')!.map((x) => x.name)).toEqual(['w1', 'w2']);
    expect(by.get('c2')![0].active).toBe(false);
    expect(by.get('c3')).toBeUndefined();
  });
});

describe('control-plane log', () => {
  it('asks for the filters given, and follows on request', () => {
    expect(controlLogPath({ component: '', level: 'info' }, 300, true)).toBe('/api/logs?level=info&limit=300&follow=true');
    expect(controlLogPath({ component: 'worker', level: 'warn' }, 2000, false)).toBe('/api/logs?component=worker&level=warn&limit=2000');
  });

  it('reads records from events and from the answer of one read', () => {
    const rec = { time: '2026-01-01T10:00:00.000Z', level: 'warn', component: 'worker', node: 'w1', cluster: 'edge', msg: 'lost' };
    expect(parseEventData(JSON.stringify(rec))).toEqual({ kind: 'record', ...rec });
    expect(toEvent({ msg: 'bare' })).toEqual({ kind: 'record', time: '', level: '', component: '', node: '', cluster: '', msg: 'bare' });
    expect(toEvent({ dropped: 2 })).toEqual({ kind: 'dropped', count: 2 });
    expect(toEvent('nothing')).toBeNull();
  });

  it('keeps the newest rows within the bound', () => {
    expect(appendBounded([1, 2, 3], [4, 5], 4)).toEqual([2, 3, 4, 5]);
    expect(appendBounded([], [1, 2, 3], 2)).toEqual([2, 3]);
    expect(appendBounded([1], [], 5)).toEqual([1]);
  });

  it('reads times, and nothing else', () => {
    expect(epochSeconds('2026-01-01T00:00:01Z')).toBe(1767225601);
    expect(epochSeconds('')).toBe(0);
  });
});
