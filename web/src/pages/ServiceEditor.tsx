// Creates or edits one service: a form for every SLA field, or its JSON (one microservice, a
// `{"microservices": [...]}` file, or a whole SLA). The server validates; its message appears
// beside the field it names.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { JsonEditor, parseJson } from '../components/JsonEditor';
import { ListEditor } from '../components/ListEditor';
import { ErrorNotice, Field, Loading, notify } from '../components/ui';
import { customerId } from '../data';
import { useAction, usePoll } from '../hooks';
import { navigate, type Params } from '../router';
import { definitionOf, fieldErrors, pruneEmpty, serviceSla } from '../sla';
import type { Application, Cluster, Constraint, Connectivity, Microservice, Service } from '../types';

const prefix = 'applications[0].microservices[0]';
const archs = ['amd64', 'arm64', 'arm', 'riscv64'];

const topLevel = new Set([
  'microservice_name', 'microservice_namespace', 'virtualization', 'code', 'memory', 'vcpus',
  'vgpus', 'vtpus', 'bandwidth_in', 'bandwidth_out', 'storage', 'port', 'state', 'one_shot',
  'cmd', 'args', 'environment', 'arch', 'added_files', 'sla_violation_strategy', 'target_node',
  'addresses', 'constraints', 'connectivity', 'microserviceID',
]);
const rootOf = (path: string) => path.split(/[.[]/)[0];

function blank(): Microservice {
  return {
    microservice_name: '',
    microservice_namespace: 'default',
    virtualization: 'container',
    code: '',
    memory: 100,
    vcpus: 1,
  };
}

type Errors = Record<string, string>;

// The message for `key` itself or for anything inside it.
function errorUnder(errors: Errors, key: string): string | undefined {
  for (const [path, msg] of Object.entries(errors)) {
    if (path === key) return msg;
    if (path.startsWith(key + '.') || path.startsWith(key + '[')) return `${path.slice(key.length + 1).replace(/^\]\.?/, '')}: ${msg}`;
  }
  return undefined;
}

function ConstraintEditor({
  c,
  onChange,
  onRemove,
  clusters,
  error,
  index,
}: {
  c: Constraint;
  onChange: (c: Constraint) => void;
  onRemove: () => void;
  clusters: Cluster[];
  error?: string;
  index: number;
}) {
  const num = (k: keyof Constraint) => ({
    type: 'number' as const,
    step: 'any',
    name: `constraints[${index}].${k}`,
    value: (c[k] as number | undefined) ?? '',
    onInput: (e: Event) => {
      const v = (e.currentTarget as HTMLInputElement).value;
      onChange({ ...c, [k]: v === '' ? undefined : Number(v) });
    },
  });
  const text = (k: keyof Constraint) => ({
    name: `constraints[${index}].${k}`,
    value: (c[k] as string | undefined) ?? '',
    onInput: (e: Event) => onChange({ ...c, [k]: (e.currentTarget as HTMLInputElement).value }),
  });
  return (
    <div class={`sub-card${error ? ' invalid' : ''}`}>
      <div class="grid">
        <Field label="Type">
          <select
            name={`constraints[${index}].type`}
            value={c.type}
            onChange={(e) => onChange({ type: e.currentTarget.value })}
          >
            <option value="direct">direct (cluster / worker)</option>
            <option value="latency">latency</option>
            <option value="geo">geo</option>
          </select>
        </Field>
        {c.type === 'direct' && (
          <>
            <Field label="Cluster">
              <select {...text('cluster')} onChange={text('cluster').onInput}>
                <option value="">any</option>
                {clusters.map((cl) => (
                  <option key={cl.cluster_name} value={cl.cluster_name}>
                    {cl.cluster_name}
                  </option>
                ))}
                {c.cluster && !clusters.some((cl) => cl.cluster_name === c.cluster) && (
                  <option value={c.cluster}>{c.cluster}</option>
                )}
              </select>
            </Field>
            <Field label="Worker (node)">
              <input {...text('node')} placeholder="worker name" />
            </Field>
          </>
        )}
        {c.type === 'latency' && (
          <Field label="Area">
            <input {...text('area')} />
          </Field>
        )}
        {c.type === 'geo' && (
          <Field label="Location" hint="latitude,longitude">
            <input {...text('location')} placeholder="48.26,11.67" />
          </Field>
        )}
        {c.type !== 'direct' && (
          <>
            <Field label={c.type === 'geo' ? 'Threshold (km)' : 'Threshold (ms)'}>
              <input {...num('threshold')} />
            </Field>
            <Field label="Rigidness (0–1)">
              <input {...num('rigidness')} />
            </Field>
            <Field label="Convergence time (s)">
              <input {...num('convergence_time')} step="1" />
            </Field>
          </>
        )}
      </div>
      {error && (
        <span class="field-error" role="alert">
          {error}
        </span>
      )}
      <button type="button" class="small" onClick={onRemove}>
        Remove constraint
      </button>
    </div>
  );
}

function ConnectivityEditor({
  c,
  onChange,
  onRemove,
  services,
  error,
}: {
  c: Connectivity;
  onChange: (c: Connectivity) => void;
  onRemove: () => void;
  services: Service[];
  error?: string;
}) {
  const cc = c.con_constraints ?? [];
  const setCc = (i: number, k: string, v: string) => {
    const next = cc.map((x, j) => (j === i ? { ...x, [k]: k === 'type' ? v : v === '' ? undefined : Number(v) } : x));
    onChange({ ...c, con_constraints: next as Connectivity['con_constraints'] });
  };
  return (
    <div class={`sub-card${error ? ' invalid' : ''}`}>
      <Field label="Target service">
        <select
          value={c.target_microservice_id}
          onChange={(e) => onChange({ ...c, target_microservice_id: e.currentTarget.value })}
        >
          <option value="">choose…</option>
          {services.map((s) => (
            <option key={s.microserviceID} value={s.microserviceID}>
              {s.microservice_name}
            </option>
          ))}
          {c.target_microservice_id && !services.some((s) => s.microserviceID === c.target_microservice_id) && (
            <option value={c.target_microservice_id}>{c.target_microservice_id}</option>
          )}
        </select>
      </Field>
      {cc.map((x, i) => (
        <div class="grid" key={i}>
          <Field label="Type">
            <select value={x.type} onChange={(e) => setCc(i, 'type', e.currentTarget.value)}>
              <option value="latency">latency</option>
              <option value="geo">geo</option>
            </select>
          </Field>
          {(['threshold', 'rigidness', 'convergence_time'] as const).map((k) => (
            <Field key={k} label={k.replace('_', ' ')}>
              <input
                type="number"
                step="any"
                value={x[k] ?? ''}
                onInput={(e) => setCc(i, k, e.currentTarget.value)}
              />
            </Field>
          ))}
        </div>
      ))}
      {error && (
        <span class="field-error" role="alert">
          {error}
        </span>
      )}
      <div class="row-actions">
        <button
          type="button"
          class="small"
          onClick={() =>
            onChange({
              ...c,
              con_constraints: [...cc, { type: 'latency', threshold: 100, rigidness: 0.5, convergence_time: 300 }],
            })
          }
        >
          + Connection constraint
        </button>
        <button type="button" class="small" onClick={onRemove}>
          Remove link
        </button>
      </div>
    </div>
  );
}

// What the JSON text stands for: microservices to add, or null with a reason.
function microservicesOf(value: unknown): { list?: Microservice[]; error?: string } {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { error: 'The JSON must be an object: a microservice, {"microservices": [...]} or an SLA' };
  }
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.applications)) {
    const app = v.applications[0] as Record<string, unknown> | undefined;
    const list = app?.microservices;
    if (!Array.isArray(list)) return { error: 'applications[0].microservices: a list of services is needed' };
    return { list: list as Microservice[] };
  }
  if (Array.isArray(v.microservices)) return { list: v.microservices as Microservice[] };
  return { list: [v as Microservice] };
}

function Editor({ app, service, siblings }: { app: Application; service?: Service; siblings: Service[] }) {
  const [ms, setMs] = useState<Microservice>(() => (service ? definitionOf(service) : blank()));
  const [tab, setTab] = useState<'form' | 'json'>('form');
  const [json, setJson] = useState('');
  const [jsonNote, setJsonNote] = useState('');
  const clusters = usePoll(() => api<Cluster[]>('/api/clusters'), 0, []);
  const action = useAction();

  const errs = fieldErrors(action.error, prefix, (p) => tab === 'form' && topLevel.has(rootOf(p)));
  const err = (key: string) => errorUnder(errs.fields, key);
  const set = <K extends keyof Microservice>(k: K, v: Microservice[K]) => setMs((m) => ({ ...m, [k]: v }));
  const text = (k: keyof Microservice) => ({
    name: k as string,
    value: (ms[k] as string | undefined) ?? '',
    onInput: (e: Event) => set(k, (e.currentTarget as HTMLInputElement).value),
  });
  const num = (k: keyof Microservice) => ({
    name: k as string,
    type: 'number' as const,
    step: 'any',
    value: (ms[k] as number | undefined) ?? '',
    onInput: (e: Event) => {
      const v = (e.currentTarget as HTMLInputElement).value;
      set(k, v === '' ? undefined : Number(v));
    },
  });
  const addr = (k: 'rr_ip' | 'rr_ip_v6' | 'closest_ip' | 'closest_ip_v6') => ({
    name: `addresses.${k}`,
    value: ms.addresses?.[k] ?? '',
    onInput: (e: Event) => set('addresses', { ...ms.addresses, [k]: (e.currentTarget as HTMLInputElement).value }),
  });

  const toJson = () => {
    setJson(JSON.stringify(pruneEmpty(ms), null, 2));
    setJsonNote('');
    setTab('json');
  };
  const toForm = () => {
    const parsed = parseJson(json);
    const found = parsed.error ? { error: parsed.error } : microservicesOf(parsed.value);
    if (found.error || found.list?.length !== 1) {
      setJsonNote(found.error ?? 'The form shows one service; this JSON has several. Save them from here.');
      return;
    }
    setMs(found.list[0]);
    setTab('form');
  };

  const done = () => navigate(`/apps/${app.applicationID}`);
  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      let list: Microservice[];
      if (tab === 'json') {
        const parsed = parseJson(json);
        if (parsed.error) throw new Error(parsed.error);
        const found = microservicesOf(parsed.value);
        if (found.error) throw new Error(found.error);
        list = found.list!;
      } else {
        list = [pruneEmpty(ms)];
      }
      if (service) {
        if (list.length !== 1) throw new Error('An edit replaces one service: give exactly one.');
        await api(`/api/service/${service.microserviceID}`, {
          method: 'PUT',
          body: serviceSla(customerId(), app, list),
        });
        notify(`Service ${list[0].microservice_name} saved`);
      } else {
        await api('/api/service', {
          method: 'POST',
          body: serviceSla(customerId(), app, list),
        });
        notify(list.length === 1 ? `Service ${list[0].microservice_name} created` : `${list.length} services created`);
      }
      done();
    });
  };

  const arch = ms.arch ?? [];
  const constraints = ms.constraints ?? [];
  const connectivity = ms.connectivity ?? [];
  const others = siblings.filter((s) => s.microserviceID !== service?.microserviceID);

  return (
    <form class="stack editor" onSubmit={submit}>
      <div class="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={tab === 'form'} onClick={() => tab !== 'form' && toForm()}>
          Form
        </button>
        <button type="button" role="tab" aria-selected={tab === 'json'} onClick={() => tab !== 'json' && toJson()}>
          JSON
        </button>
      </div>
      {tab === 'json' ? (
        <>
          <p class="muted small">
            One microservice, a file of the form <code>{'{"microservices": [...]}'}</code>, or a whole SLA
            (its first application's services are added to <b>{app.application_name}</b>).
          </p>
          <JsonEditor label="Service JSON" value={json} onChange={setJson} rows={24} error={errs.general || jsonNote || undefined} />
        </>
      ) : (
        <>
          <fieldset>
            <legend>General</legend>
            <div class="grid">
              <Field label="Name" error={err('microservice_name')} hint="letters and digits, at most 30">
                <input {...text('microservice_name')} required />
              </Field>
              <Field label="Namespace" error={err('microservice_namespace')}>
                <input {...text('microservice_namespace')} required />
              </Field>
              <Field label="Virtualization" error={err('virtualization')}>
                <select
                  name="virtualization"
                  value={ms.virtualization === 'docker' ? 'container' : ms.virtualization}
                  onChange={(e) => set('virtualization', e.currentTarget.value)}
                >
                  <option value="container">container</option>
                  <option value="unikernel">unikernel</option>
                </select>
              </Field>
              <Field
                label={ms.virtualization === 'unikernel' ? 'Kernel URL' : 'Image'}
                error={err('code')}
                wide
                hint={ms.virtualization === 'unikernel' ? 'URL of the kernel bundle (.tar.gz)' : 'e.g. docker.io/library/nginx:latest'}
              >
                <input {...text('code')} required />
              </Field>
            </div>
            <label class="check">
              <input
                type="checkbox"
                name="one_shot"
                checked={!!ms.one_shot}
                onChange={(e) => set('one_shot', e.currentTarget.checked)}
              />
              One-shot job (runs to completion instead of being restarted)
            </label>
            {err('one_shot') && <span class="field-error">{err('one_shot')}</span>}
          </fieldset>

          <fieldset>
            <legend>Command</legend>
            <div class="grid">
              <Field label="Command (cmd)" error={err('cmd')} hint="replaces the image's command; one argument per line">
                <ListEditor name="cmd" items={ms.cmd} onChange={(v) => set('cmd', v)} addLabel="argument" placeholder="sh" />
              </Field>
              <Field label="Arguments (args)" error={err('args')}>
                <ListEditor name="args" items={ms.args} onChange={(v) => set('args', v)} addLabel="argument" />
              </Field>
              <Field label="Environment" error={err('environment')} hint="NAME=value">
                <ListEditor
                  name="environment"
                  items={ms.environment}
                  onChange={(v) => set('environment', v)}
                  addLabel="variable"
                  placeholder="NAME=value"
                />
              </Field>
            </div>
          </fieldset>

          <fieldset>
            <legend>Resources</legend>
            <div class="grid">
              <Field label="Memory (MB)" error={err('memory')}>
                <input {...num('memory')} min="0" />
              </Field>
              <Field label="vCPUs" error={err('vcpus')}>
                <input {...num('vcpus')} min="0" />
              </Field>
              <Field label="vGPUs" error={err('vgpus')}>
                <input {...num('vgpus')} min="0" />
              </Field>
              <Field label="vTPUs" error={err('vtpus')}>
                <input {...num('vtpus')} min="0" />
              </Field>
              <Field label="Storage (MB)" error={err('storage')}>
                <input {...num('storage')} min="0" />
              </Field>
              <Field label="Bandwidth in (kbit/s)" error={err('bandwidth_in')}>
                <input {...num('bandwidth_in')} min="0" />
              </Field>
              <Field label="Bandwidth out (kbit/s)" error={err('bandwidth_out')}>
                <input {...num('bandwidth_out')} min="0" />
              </Field>
              <Field label="Ports" error={err('port')} hint="host:container[/tcp|udp], separated by ';'">
                <input {...text('port')} placeholder="8080:80/tcp" />
              </Field>
            </div>
            <Field label="Architectures" error={err('arch')} hint="none: any (a unikernel needs one)">
              <div class="checks">
                {[...new Set([...archs, ...arch])].map((a) => (
                  <label key={a} class="check">
                    <input
                      type="checkbox"
                      name={`arch-${a}`}
                      checked={arch.includes(a)}
                      onChange={(e) =>
                        set('arch', e.currentTarget.checked ? [...arch, a] : arch.filter((x) => x !== a))
                      }
                    />
                    {a}
                  </label>
                ))}
              </div>
            </Field>
          </fieldset>

          <fieldset>
            <legend>Service addresses</legend>
            <p class="muted small">Leave empty to get free ones. Other services reach this one at these addresses.</p>
            <div class="grid">
              <Field label="Round robin IPv4" error={err('addresses.rr_ip')}>
                <input {...addr('rr_ip')} placeholder="10.30.x.y" />
              </Field>
              <Field label="Round robin IPv6" error={err('addresses.rr_ip_v6')}>
                <input {...addr('rr_ip_v6')} />
              </Field>
              <Field label="Closest IPv4" error={err('addresses.closest_ip')}>
                <input {...addr('closest_ip')} />
              </Field>
              <Field label="Closest IPv6" error={err('addresses.closest_ip_v6')}>
                <input {...addr('closest_ip_v6')} />
              </Field>
            </div>
            {err('addresses.instances') && <span class="field-error">{err('addresses.instances')}</span>}
          </fieldset>

          <fieldset>
            <legend>Placement constraints</legend>
            {constraints.length === 0 && <p class="muted small">None: any cluster and worker with room.</p>}
            {constraints.map((c, i) => (
              <ConstraintEditor
                key={i}
                index={i}
                c={c}
                clusters={clusters.data ?? []}
                error={err(`constraints[${i}]`)}
                onChange={(n) => set('constraints', constraints.map((x, j) => (j === i ? n : x)))}
                onRemove={() => set('constraints', constraints.filter((_, j) => j !== i))}
              />
            ))}
            {err('constraints') && !constraints.some((_, i) => err(`constraints[${i}]`)) && (
              <span class="field-error">{err('constraints')}</span>
            )}
            <button
              type="button"
              class="small"
              onClick={() => set('constraints', [...constraints, { type: 'direct', cluster: '', node: '' }])}
            >
              + Constraint
            </button>
          </fieldset>

          <fieldset>
            <legend>Connectivity</legend>
            {connectivity.map((c, i) => (
              <ConnectivityEditor
                key={i}
                c={c}
                services={others}
                error={err(`connectivity[${i}]`)}
                onChange={(n) => set('connectivity', connectivity.map((x, j) => (j === i ? n : x)))}
                onRemove={() => set('connectivity', connectivity.filter((_, j) => j !== i))}
              />
            ))}
            <button
              type="button"
              class="small"
              onClick={() => set('connectivity', [...connectivity, { target_microservice_id: '', con_constraints: [] }])}
            >
              + Link to another service
            </button>
          </fieldset>

          <fieldset>
            <legend>More</legend>
            <div class="grid">
              <Field label="State" error={err('state')}>
                <input {...text('state')} />
              </Field>
              <Field label="SLA violation strategy" error={err('sla_violation_strategy')}>
                <input {...text('sla_violation_strategy')} />
              </Field>
              <Field label="Target node" error={err('target_node')}>
                <input {...text('target_node')} />
              </Field>
              <Field label="Added files" error={err('added_files')}>
                <ListEditor name="added_files" items={ms.added_files} onChange={(v) => set('added_files', v)} addLabel="file" />
              </Field>
            </div>
          </fieldset>
        </>
      )}
      {tab === 'form' && errs.general && <ErrorNotice error={action.error} />}
      <div class="actions sticky">
        <button type="submit" class="primary" disabled={action.busy}>
          {service ? 'Save service' : 'Create service'}
        </button>
        <button type="button" onClick={done}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function ServiceEditor({ params }: { params: Params }) {
  const { appId, serviceId } = params;
  const [state, setState] = useState<{ app?: Application; service?: Service; siblings?: Service[]; error?: unknown }>({});
  useEffect(() => {
    let live = true;
    (async () => {
      const service = serviceId ? await api<Service>(`/api/service/${serviceId}`) : undefined;
      const id = service?.applicationID ?? appId;
      const [app, siblings] = await Promise.all([
        api<Application>(`/api/application/${id}`),
        api<Service[]>(`/api/services/${id}`),
      ]);
      if (live) setState({ app, service, siblings });
    })().catch((error) => live && setState({ error }));
    return () => {
      live = false;
    };
  }, [appId, serviceId]);

  const { app, service, siblings, error } = state;
  return (
    <div class="page">
      <div class="crumbs">
        <a href="/apps">Applications</a> /{' '}
        {app ? <a href={`/apps/${app.applicationID}`}>{app.application_name}</a> : '…'} /{' '}
        {service ? `Edit ${service.microservice_name}` : 'New service'}
      </div>
      <h1>{service ? `Edit ${service.microservice_name}` : 'New service'}</h1>
      {service && (
        <p class="muted">
          Saving replaces the definition; running instances keep running until they are redeployed.
        </p>
      )}
      <ErrorNotice error={error} />
      {!error && !app ? <Loading what="the application" /> : app && <Editor app={app} service={service} siblings={siblings ?? []} />}
    </div>
  );
}
