import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { App } from '../src/App';
import { apiReachable } from '../src/api';
import { ErrorNotice, StatusBadge } from '../src/components/ui';
import { ControlLogs } from '../src/components/ControlLogs';
import { LogViewer } from '../src/components/LogViewer';
import { Applications } from '../src/pages/Applications';
import { Infrastructure } from '../src/pages/Infrastructure';
import { ServiceEditor } from '../src/pages/ServiceEditor';
import { Services } from '../src/pages/Services';
import { currentPath } from '../src/router';
import { endSession, startSession } from '../src/session';
import { ApiError } from '../src/api';
import { button, click, fakeFetch, mount, text, token, type, waitFor } from './helpers';

// An element's text with its parts apart (styles, not spaces, separate them on screen).
const parts = (el: Element) => [...el.childNodes].map((n) => (n.textContent ?? '').trim()).filter(Boolean).join(' ').replace(/\s+/g, ' ');
const exp = () => Math.floor(Date.now() / 1000) + 600;
const app = { _id: { $oid: 'a1' }, applicationID: 'a1', application_name: 'shop', application_namespace: 'prod', microservices: ['s1'] };
const service = {
  _id: { $oid: 's1' },
  microserviceID: 's1',
  applicationID: 'a1',
  microservice_name: 'web',
  microservice_namespace: 'prod',
  virtualization: 'docker',
  code: 'nginx',
  status: 'RUNNING',
  service_ip_list: [
    { IpType: 'RR', Address: '10.30.0.1', Address_v6: 'fdff:2000::1' },
    { IpType: 'Closest', Address: '10.30.0.2', Address_v6: 'fdff:1000::1' },
  ],
  instance_list: [
    { instance_number: 0, status: 'RUNNING', worker_name: 'w1', cluster_id: 'c1', instance_ip: '10.30.0.3', instance_ip_v6: 'fdff::3' },
    { instance_number: 1, status: 'NoActiveClusterWithCapacity', status_detail: 'no room' },
  ],
};

beforeEach(() => {
  localStorage.clear();
  apiReachable.value = true;
  startSession(token({ sub: 'Admin', roles: ['Admin'], organization: 'root', exp: exp() }), 'r');
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

describe('small components', () => {
  it('colours statuses and explains them on hover', async () => {
    const root = await mount(<StatusBadge status="NoActiveClusterWithCapacity" />);
    const badge = root.querySelector('.badge')!;
    expect(badge.className).toContain('tone-bad');
    expect(badge.getAttribute('title')).toContain('no connected cluster');
  });

  it('shows errors as sentences with a hint', async () => {
    const root = await mount(<ErrorNotice error={new ApiError(0, 'Cannot reach the Oakestra API')} />);
    expect(text(root)).toContain('Cannot reach the Oakestra API');
    expect(text(root)).toContain('keeps trying');
    const other = await mount(<ErrorNotice error={{ weird: true }} />);
    expect(text(other)).not.toContain('[object Object]');
  });
});

describe('Applications', () => {
  it('has an empty state', async () => {
    fakeFetch(() => ({ body: [] }));
    const root = await mount(<Applications />);
    await waitFor('empty state', () => text(root).includes('No applications yet'));
  });

  it('lists applications and shows the server message under the JSON editor', async () => {
    const calls = fakeFetch((c) =>
      c.method === 'POST'
        ? { status: 422, body: { message: "applications[0].application_name: 'bad name' does not match ^[a-zA-Z0-9]{1,30}$" } }
        : { body: [app] },
    );
    const root = await mount(<Applications />);
    await waitFor('row', () => root.querySelector('tr[data-app="shop"]'));
    await click(button(root, 'New application'));
    await click([...root.querySelectorAll('[role=tab]')].find((t) => text(t) === 'JSON (full SLA)'));
    await click(button(root, 'Create'));
    const err = await waitFor('message', () => root.querySelector('.json-editor .field-error[role=alert]'));
    expect(text(err)).toContain('applications[0].application_name');
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.path).toBe('/api/application');
    expect(post.body).toMatchObject({ sla_version: 'v2.0' });
  });

  it('puts form errors next to the field', async () => {
    fakeFetch((c) =>
      c.method === 'POST'
        ? { status: 422, body: { message: "applications[0].application_namespace: 'a b' does not match" } }
        : { body: [] },
    );
    const root = await mount(<Applications />);
    await click(await waitFor('button', () => button(root, 'New application')));
    await type(root.querySelector('input[name=application_name]'), 'ok');
    await type(root.querySelector('input[name=application_namespace]'), 'a b');
    await click(button(root, 'Create'));
    const field = await waitFor('invalid field', () => root.querySelector('label.field.invalid'));
    expect(field.querySelector('input')!.getAttribute('name')).toBe('application_namespace');
    expect(text(field)).toContain("'a b' does not match");
  });
});

describe('Services', () => {
  it('shows instances, addresses and scales', async () => {
    const calls = fakeFetch((c) => {
      if (c.path === '/api/application/a1') return { body: app };
      if (c.path === '/api/services/a1') return { body: [service] };
      if (c.path === '/api/clusters') return { body: [{ _id: { $oid: 'c1' }, cluster_name: 'edge' }] };
      return { body: { message: 'ok' } };
    });
    const root = await mount(<Services params={{ appId: 'a1' }} />);
    const card = await waitFor('card', () => root.querySelector('section[data-service="web"]'));
    await waitFor('cluster name', () => text(card).includes('edge'));
    expect(text(card)).toContain('10.30.0.1');
    expect(text(card)).toContain('fdff:1000::1');
    expect(text(card)).toContain('10.30.0.3');
    expect(card.querySelector('tr[data-instance="1"] .badge')!.className).toContain('tone-bad');
    await click(button(card, 'Deploy one more'));
    await waitFor('deploy call', () => calls.find((c) => c.method === 'POST' && c.path === '/api/service/s1/instance'));
    await click(await waitFor('enabled', () => !button(card, 'Deploy one more')!.disabled && button(card, 'Remove all instances')));
    await click(button(card, 'Yes'));
    await waitFor('remove call', () => calls.find((c) => c.method === 'DELETE' && c.path === '/api/service/s1/instance/-1'));
  });
});

describe('ServiceEditor', () => {
  it('sends every field and shows the server message beside the field', async () => {
    const calls = fakeFetch((c) => {
      if (c.path === '/api/application/a1') return { body: app };
      if (c.path === '/api/services/a1') return { body: [] };
      if (c.path === '/api/clusters') return { body: [] };
      return { status: 422, body: { message: "applications[0].microservices[0].cmd[1]: 3 is not of type 'string'" } };
    });
    const root = await mount(<ServiceEditor params={{ appId: 'a1' }} />);
    await waitFor('form', () => root.querySelector('input[name=microservice_name]'));
    await type(root.querySelector('input[name=microservice_name]'), 'api');
    await type(root.querySelector('input[name=code]'), 'img');
    await click(button(root, '+ argument'));
    await type(root.querySelector('input[name="cmd[0]"]'), 'sleep');
    await click(root.querySelector('input[name=one_shot]'));
    await click(button(root, 'Create service'));
    const err = await waitFor('cmd error', () => root.querySelector('[data-list=cmd]')?.closest('label')?.querySelector('.field-error'));
    expect(text(err)).toContain("3 is not of type 'string'");
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.path).toBe('/api/service');
    expect(post.body).toMatchObject({
      applications: [{ applicationID: 'a1', microservices: [{ microservice_name: 'api', code: 'img', cmd: ['sleep'], one_shot: true }] }],
    });
  });
});

describe('LogViewer', () => {
  it('shows the tail, filters by search and switches streams', async () => {
    const calls = fakeFetch((c) => ({
      body: {
        lines: c.path.includes('stream=stderr')
          ? [{ time: '2026-01-01T10:00:00.000Z', stream: 'stderr', line: 'oops' }]
          : [
              { time: '2026-01-01T10:00:00.000Z', stream: 'stdout', line: 'hello world' },
              { time: '2026-01-01T10:00:01.000Z', stream: 'stderr', line: 'oops' },
            ],
      },
    }));
    const root = await mount(<LogViewer serviceId="s1" instance={0} name="web" live={false} />);
    await waitFor('lines', () => text(root).includes('hello world'));
    await type(root.querySelector('input[type=search]'), 'HELLO');
    await waitFor('match count', () => text(root).includes('1 of 2 lines match'));
    expect(root.querySelector('mark')!.textContent).toBe('hello');
    await click([...root.querySelectorAll('[role=tab]')].find((t) => text(t) === 'stderr'));
    await type(root.querySelector('input[type=search]'), '');
    await waitFor('stderr only', () => text(root).includes('oops') && !text(root).includes('hello world'));
    expect(calls.at(-1)!.path).toContain('stream=stderr');
  });

  it('follows a stream of events and says why it ended', async () => {
    vi.stubGlobal('fetch', async () => {
      const body = 'data: {"time":"2026-01-01T10:00:00.000Z","stream":"stdout","line":"tick 1"}\n\ndata: {"end":"the instance was undeployed"}\n\n';
      return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } });
    });
    const root = await mount(<LogViewer serviceId="s1" instance={0} name="web" live={true} />);
    await waitFor('line', () => text(root).includes('tick 1'));
    await waitFor('end note', () => text(root).includes('the instance was undeployed'));
  });

  it('explains why logs are unavailable', async () => {
    fakeFetch(() => ({ status: 503, body: { message: 'the cluster of instance 0 (c1) is not connected' } }));
    const root = await mount(<LogViewer serviceId="s1" instance={0} name="web" live={false} />);
    await waitFor('message', () => text(root).includes('is not connected'));
    expect(button(root, 'Try again')).toBeTruthy();
  });
});

describe('Infrastructure', () => {
  it('says how to add a cluster when there is none', async () => {
    fakeFetch((c) => ({ body: c.path === '/healthz' ? { status: 'ok' } : [] }));
    const root = await mount(<Infrastructure />);
    await waitFor('empty', () => text(root).includes('No clusters yet'));
    expect(text(root)).toContain('oakestra cluster --root');
  });

  it('shows capacity, runtimes and liveness of each cluster, and its workers', async () => {
    fakeFetch((c) => ({
      body:
        c.path === '/healthz'
          ? { status: 'ok' }
          : c.path === '/api/workers'
            ? [
                { id: 'n2', name: 'w2', active: false, cluster_id: 'c1', cluster_name: 'edge' },
                {
                  id: 'n1',
                  name: 'w1',
                  active: true,
                  cluster_id: 'c1',
                  cluster_name: 'edge',
                  cores_total: 4,
                  memory_total_mb: 8192,
                  runtimes: ['docker', 'unikernel'],
                  archs: ['amd64'],
                  acceleration: 'kvm',
                },
              ]
            : c.path.startsWith('/api/')
              ? c.path.startsWith('/api/v1/')
                ? [
                    {
                      _id: { $oid: 'c1' },
                      cluster_name: 'edge',
                      cluster_location: '48.1,11.6,10',
                      connected: true,
                      active: true,
                      last_modified_timestamp: Date.now() / 1000,
                      resources: { nodes: 2, cores_total: 8, cores_free: 6, memory_total_mb: 4096, memory_free_mb: 1024, runtimes: ['docker', 'unikernel'], per_arch: { amd64: {}, arm64: {} } },
                    },
                  ]
                : []
              : [],
    }));
    const root = await mount(<Infrastructure />);
    const card = await waitFor('card', () => root.querySelector('section[data-cluster="edge"]'));
    expect(text(card)).toContain('container, unikernel');
    expect(text(card)).toContain('amd64, arm64');
    expect(text(card)).toContain('2.0 / 8.0 cores used');
    expect(text(card)).toContain('3072 / 4096 MB used');
    expect(root.querySelector('.map .pin.active')).toBeTruthy();
    await waitFor('workers', () => card.querySelector('li[data-worker="w2"]'));
    expect([...card.querySelectorAll('li[data-worker]')].map(parts)).toEqual([
      'active w1 4 cores · 8.0 GB · container, unikernel (KVM) · amd64',
      'lost w2',
    ]);
    expect(text(root)).toContain('1 of 2 workers');
    expect(text(root)).toContain('No active alerts');
  });

  it('lists active alerts, firing first', async () => {
    fakeFetch((c) => ({
      body:
        c.path === '/api/alerts'
          ? [
              { name: 'OakestraErrorLogRateHigh', severity: 'warning', state: 'pending', labels: { node: 'edge' }, summary: 'many errors', active_since: new Date().toISOString() },
              { name: 'OakestraWorkerLost', severity: 'warning', state: 'firing', labels: { cluster: 'edge', worker: 'w1' }, summary: 'worker w1 of edge is lost', active_since: new Date().toISOString() },
            ]
          : c.path === '/healthz'
            ? { status: 'ok' }
            : [],
    }));
    const root = await mount(<Infrastructure />);
    await waitFor('alerts', () => root.querySelector('tr[data-alert]'));
    const rows = [...root.querySelectorAll('tr[data-alert]')];
    expect(rows.map((r) => r.getAttribute('data-alert'))).toEqual(['OakestraWorkerLost', 'OakestraErrorLogRateHigh']);
    expect(text(rows[0])).toContain('worker w1 of edge is lost');
    expect(text(rows[0])).toContain('worker=w1');
    expect(text(rows[0])).toMatch(/since \d+ s ago/);
    expect(text(root.querySelector('.alerts')!)).toContain('1 firing');
  });
});

describe('Control-plane logs', () => {
  const rec = (msg: string, level = 'info', component = 'root', node = 'root', cluster = '') =>
    ({ time: '2026-01-01T10:00:00.000Z', level, component, node, cluster, msg });

  it('reads with the filters chosen, once or followed', async () => {
    const calls = fakeFetch((c) => ({
      body: c.path.startsWith('/api/logs')
        ? { lines: c.path.includes('component=worker') ? [rec('joined', 'warn', 'worker', 'w1', 'edge')] : [rec('root started')] }
        : c.path === '/healthz'
          ? { status: 'ok' }
          : [],
    }));
    const root = await mount(<Infrastructure />);
    const box = await waitFor('panel', () => root.querySelector('[data-testid=control-log-lines]'));
    expect(calls.find((c) => c.path.startsWith('/api/logs'))!.path).toBe('/api/logs?level=info&limit=300&follow=true');
    await click(root.querySelector('.control-logs input[type=checkbox]'));
    await waitFor('one read', () => text(box).includes('root started'));
    const component = root.querySelector('select[aria-label=Component]') as HTMLSelectElement;
    component.value = 'worker';
    await act(() => {
      component.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await waitFor('worker records', () => text(box).includes('joined'));
    expect(text(box)).toContain('worker w1@edge');
    expect(box.querySelector('.log-line.lvl-warn')).toBeTruthy();
    expect(calls.at(-1)!.path).toBe('/api/logs?component=worker&level=info&limit=2000');
  });

  it('follows the event stream and says what was skipped', async () => {
    vi.stubGlobal('fetch', async (input: string) => {
      if (!input.startsWith('/api/logs')) return new Response('[]');
      const events = [rec('first'), { dropped: 7 }, rec('second', 'error', 'cluster', 'edge', 'edge')];
      return new Response(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join(''), { headers: { 'Content-Type': 'text/event-stream' } });
    });
    const root = await mount(<ControlLogs />);
    const box = await waitFor('panel', () => root.querySelector('[data-testid=control-log-lines]'));
    await waitFor('records', () => text(box).includes('second'));
    expect([...box.querySelectorAll('.log-line')].map(parts)).toEqual([
      '10:00:00.000 info root first',
      '… 7 records skipped',
      '10:00:00.000 error cluster edge second',
    ]);
    await waitFor('end', () => text(root).includes('Following stopped: the log stream closed. 7 lines were skipped.'));
  });

  it('is for Admins only', async () => {
    startSession(token({ sub: 'alice', roles: ['Application_Provider'], organization: 'root', exp: exp() }), 'r');
    const calls = fakeFetch((c) => ({ body: c.path === '/healthz' ? { status: 'ok' } : [] }));
    const root = await mount(<Infrastructure />);
    await waitFor('page', () => text(root).includes('No active alerts'));
    expect(root.querySelector('.control-logs')).toBeNull();
    expect(calls.some((c) => c.path.startsWith('/api/logs'))).toBe(false);
  });
});

describe('App shell', () => {
  it('sends a visitor without a session to the login page', async () => {
    endSession();
    fakeFetch(() => ({ body: [] }));
    history.replaceState(null, '', '/apps');
    currentPath.value = '/apps';
    const root = await mount(<App />);
    await waitFor('login', () => button(root, 'Sign in'));
    expect(location.pathname).toBe('/login');
    render(null, root);
  });

  it('announces an unreachable API', async () => {
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')));
    history.replaceState(null, '', '/apps');
    currentPath.value = '/apps';
    const root = await mount(<App />);
    await waitFor('message', () => text(root).includes('Cannot reach the Oakestra API'));
    expect(apiReachable.value).toBe(false);
    expect(text(root)).toContain('does not answer');
    render(null, root);
  });
});

describe('LogViewer retries', () => {
  it('follows again by itself after an error', async () => {
    let calls = 0;
    vi.stubGlobal('fetch', async () => {
      calls++;
      if (calls === 1) return new Response(JSON.stringify({ message: 'the cluster is not connected' }), { status: 503 });
      return new Response('data: {"time":"t","stream":"stdout","line":"back again"}\n\n', {
        headers: { 'Content-Type': 'text/event-stream' },
      });
    });
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const root = await mount(<LogViewer serviceId="s1" instance={0} name="web" live={true} />);
      await waitFor('error', () => text(root).includes('trying again'));
      vi.advanceTimersByTime(3500);
      await waitFor('retried', () => text(root).includes('back again'));
    } finally {
      vi.useRealTimers();
    }
  });
});
