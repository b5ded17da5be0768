// SLA documents: the wrapper the API expects around applications and microservices, and where a
// server message about a field belongs in a form.
import { ApiError, errorText } from './api';
import type { Application, Microservice, Service } from './types';

export function slaOf(customerID: string, applications: object[]): object {
  return { sla_version: 'v2.0', customerID, applications };
}

export function newApplicationSla(customerID: string, name: string, ns: string, desc: string): object {
  return slaOf(customerID, [
    { application_name: name, application_namespace: ns, application_desc: desc, microservices: [] },
  ]);
}

// The SLA that adds `ms` to `app` (or, for an edit, replaces the service with `ms[0]`).
export function serviceSla(customerID: string, app: Application, ms: Microservice[]): object {
  return slaOf(customerID, [
    {
      applicationID: app.applicationID,
      application_name: app.application_name,
      application_namespace: app.application_namespace,
      application_desc: app.application_desc ?? '',
      microservices: ms,
    },
  ]);
}

// Fields the server owns; an edited definition leaves them out.
const serverFields = new Set([
  '_id',
  'microserviceID',
  'applicationID',
  'app_name',
  'app_ns',
  'service_name',
  'service_ns',
  'job_name',
  'image',
  'instance_list',
  'next_instance_progressive_number',
  'status',
  'status_detail',
  'service_ip_list',
  'RR_ip',
  'RR_ip_v6',
]);

// The user's definition of a service, as it would appear in an SLA.
export function definitionOf(s: Service): Microservice {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) if (!serverFields.has(k)) out[k] = v;
  // Stored as the wire name; the SLA says container.
  if (out.virtualization === 'docker') out.virtualization = 'container';
  return out as Microservice;
}

// Drops empty strings, empty lists and empty objects, as a form leaves them.
export function pruneEmpty<T>(v: T): T {
  if (Array.isArray(v)) return v.map(pruneEmpty).filter((x) => !isEmpty(x)) as T;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = pruneEmpty(x);
      if (!isEmpty(p)) out[k] = p;
    }
    return out as T;
  }
  return v;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

export interface FieldErrors {
  // Keyed by the path below `prefix` ("memory", "constraints[0].threshold").
  fields: Record<string, string>;
  // What no field of the form shows.
  general: string;
}

// Splits a failure into the field it names (relative to `prefix`) and the rest.
export function fieldErrors(e: unknown, prefix: string, known: (path: string) => boolean): FieldErrors {
  if (!e) return { fields: {}, general: '' };
  if (e instanceof ApiError && e.field) {
    let path = e.field;
    if (prefix && path.startsWith(prefix + '.')) path = path.slice(prefix.length + 1);
    if (known(path)) return { fields: { [path]: e.detail }, general: '' };
  }
  return { fields: {}, general: errorText(e) };
}
