// Reads that several pages share.
import { api } from './api';
import { isAdmin, session } from './session';
import { oid, type Application, type Cluster, type User } from './types';

const userIds = new Map<string, string>();

async function myUserId(): Promise<string> {
  const name = session.value?.claims.sub ?? '';
  let id = userIds.get(name);
  if (!id) {
    id = oid(await api<User>(`/api/user/${encodeURIComponent(name)}`));
    userIds.set(name, id);
  }
  return id;
}

// The caller's applications; every application for Admins.
export async function listApplications(): Promise<Application[]> {
  if (isAdmin.value) return api<Application[]>('/api/applications');
  return api<Application[]>(`/api/applications/${await myUserId()}`);
}

export async function clusterNames(): Promise<Map<string, string>> {
  const list = await api<Cluster[]>('/api/clusters');
  return new Map(list.map((c) => [oid(c), c.cluster_name]));
}

export function customerId(): string {
  return session.value?.claims.sub ?? '';
}
