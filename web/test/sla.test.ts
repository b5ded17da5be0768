import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/api';
import { definitionOf, fieldErrors, pruneEmpty, serviceSla } from '../src/sla';
import { match } from '../src/router';
import { toneOf } from '../src/status';
import type { Service } from '../src/types';

describe('SLA helpers', () => {
  it('drops what a form leaves empty but keeps false and 0', () => {
    expect(pruneEmpty({ a: '', b: [], c: {}, d: [''], e: false, f: 0, g: { h: '' }, i: ['x', ''] })).toEqual({
      e: false,
      f: 0,
      i: ['x'],
    });
  });

  it('turns a stored service back into its definition', () => {
    const s = {
      _id: { $oid: '1' },
      microserviceID: '1',
      applicationID: '2',
      job_name: 'a.b.c.d',
      microservice_name: 'web',
      microservice_namespace: 'ns',
      virtualization: 'docker',
      code: 'img',
      cmd: ['sh'],
      instance_list: [],
      service_ip_list: [],
      status: 'RUNNING',
    } as Service;
    expect(definitionOf(s)).toEqual({
      microservice_name: 'web',
      microservice_namespace: 'ns',
      virtualization: 'container',
      code: 'img',
      cmd: ['sh'],
    });
  });

  it('wraps services into an SLA of their application', () => {
    const app = { applicationID: 'a1', application_name: 'app', application_namespace: 'ns' };
    const sla = serviceSla('alice', app, [{ microservice_name: 'x', microservice_namespace: 'y', virtualization: 'container', code: 'c' }]) as {
      applications: { applicationID: string; microservices: unknown[] }[];
    };
    expect(sla).toMatchObject({ sla_version: 'v2.0', customerID: 'alice' });
    expect(sla.applications[0].applicationID).toBe('a1');
    expect(sla.applications[0].microservices).toHaveLength(1);
  });

  it('puts server messages on the field they name', () => {
    const known = (p: string) => p.startsWith('memory') || p.startsWith('constraints');
    const prefix = 'applications[0].microservices[0]';
    expect(fieldErrors(new ApiError(422, `${prefix}.memory: 1.5 is not of type 'integer'`), prefix, known)).toEqual({
      fields: { memory: "1.5 is not of type 'integer'" },
      general: '',
    });
    expect(fieldErrors(new ApiError(422, `${prefix}.constraints[0].threshold: bad`), prefix, known).fields).toEqual({
      'constraints[0].threshold': 'bad',
    });
    // Unknown fields and plain sentences stay general.
    expect(fieldErrors(new ApiError(422, 'customerID: required property is missing'), prefix, known).general).toContain(
      'customerID',
    );
    expect(fieldErrors(new ApiError(503, 'no cluster'), prefix, known).general).toBe('no cluster');
    expect(fieldErrors(undefined, prefix, known)).toEqual({ fields: {}, general: '' });
  });
});

describe('router', () => {
  it('matches patterns and decodes parameters', () => {
    expect(match('/apps/:appId', '/apps/a%20b')).toEqual({ appId: 'a b' });
    expect(match('/apps/:appId', '/apps/1/new-service')).toBeNull();
    expect(match('/services/:s/instances/:n', '/services/x/instances/3/')).toEqual({ s: 'x', n: '3' });
  });
});

describe('status tones', () => {
  it('colours every phase and the scheduler negatives', () => {
    expect(toneOf('RUNNING')).toBe('ok');
    expect(toneOf('REQUESTED')).toBe('wait');
    expect(toneOf('NODE_SCHEDULED')).toBe('sched');
    expect(toneOf('FAILED')).toBe('bad');
    expect(toneOf('NoActiveClusterWithCapacity')).toBe('bad');
    expect(toneOf('TargetClusterNotFound')).toBe('bad');
    expect(toneOf('COMPLETED')).toBe('done');
    expect(toneOf(undefined)).toBe('off');
  });
});
