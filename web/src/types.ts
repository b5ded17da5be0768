// The shapes of the API's documents, as far as the dashboard reads them. Everything is optional
// on purpose: documents come from older versions and users' SLAs too.

export interface Oid {
  $oid: string;
}

export interface Application {
  _id?: Oid;
  applicationID: string;
  application_name: string;
  application_namespace: string;
  application_desc?: string;
  userId?: string;
  microservices?: string[];
}

export interface ServiceIp {
  IpType: string; // "RR" or "Closest"
  Address?: string;
  Address_v6?: string;
}

export interface Instance {
  instance_number: number;
  status?: string;
  status_detail?: string;
  cluster_id?: string;
  worker_id?: string;
  worker_name?: string;
  publicip?: string;
  instance_ip?: string;
  instance_ip_v6?: string;
  namespace_ip?: string;
  namespace_ip_v6?: string;
  host_ip?: string;
  host_port?: number | string;
  cpu?: number;
  memory?: number;
  logs?: string;
}

export interface Constraint {
  type: string;
  area?: string;
  cluster?: string;
  node?: string;
  location?: string;
  threshold?: number;
  rigidness?: number;
  convergence_time?: number;
}

export interface ConConstraint {
  type: string;
  threshold: number;
  rigidness: number;
  convergence_time: number;
}

export interface Connectivity {
  target_microservice_id: string;
  con_constraints: ConConstraint[];
}

export interface Addresses {
  rr_ip?: string;
  rr_ip_v6?: string;
  closest_ip?: string;
  closest_ip_v6?: string;
  instances?: { from?: string; to?: string; start?: string }[];
}

// One microservice of an SLA: what the user writes.
export interface Microservice {
  microserviceID?: string;
  microservice_name: string;
  microservice_namespace: string;
  virtualization: string;
  code: string;
  memory?: number;
  vcpus?: number;
  vgpus?: number;
  vtpus?: number;
  bandwidth_in?: number;
  bandwidth_out?: number;
  storage?: number;
  port?: string;
  state?: string;
  one_shot?: boolean;
  cmd?: string[];
  args?: string[];
  environment?: string[];
  arch?: string[];
  added_files?: string[];
  sla_violation_strategy?: string;
  target_node?: string;
  addresses?: Addresses;
  constraints?: Constraint[];
  connectivity?: Connectivity[];
  [extra: string]: unknown;
}

// A service document: the microservice plus what the server derived.
export interface Service extends Microservice {
  _id?: Oid;
  microserviceID: string;
  applicationID: string;
  job_name?: string;
  app_name?: string;
  image?: string;
  status?: string;
  status_detail?: string;
  RR_ip?: string;
  RR_ip_v6?: string;
  instance_list?: Instance[];
  service_ip_list?: ServiceIp[];
}

export interface ClusterView {
  _id?: Oid;
  cluster_name: string;
  cluster_location?: string;
  connected?: boolean;
  active?: boolean;
  last_modified_timestamp?: number;
  resources?: Record<string, unknown>;
}

export interface Cluster {
  _id?: Oid;
  cluster_name: string;
  cluster_location?: string;
  [extra: string]: unknown;
}

export interface User {
  _id?: Oid;
  name: string;
  email?: string;
  created_at?: string;
  roles?: string[];
}

export interface Member {
  user_id: string;
  roles?: string[];
}

export interface Organization {
  _id?: Oid;
  name: string;
  member?: Member[];
}

export interface LogLine {
  time: string;
  stream: string;
  line: string;
}

export const oid = (d: { _id?: Oid } | undefined): string => d?._id?.$oid ?? '';

// GET /api/workers: each cluster's workers as the cluster last reported them.
export interface WorkerView {
  id: string;
  name: string;
  active: boolean;
  cluster_id: string;
  cluster_name: string;
  // What it is made of (older roots send none of these).
  cores_total?: number;
  memory_total_mb?: number;
  runtimes?: string[];
  archs?: string[];
  acceleration?: string; // of unikernels: kvm or emulation
}

// GET /api/alerts, firing first.
export interface Alert {
  name: string;
  severity: string; // critical or warning
  state: string; // firing or pending
  labels: Record<string, string>;
  summary: string;
  active_since: string;
}

// One record of GET /api/logs (control-plane logs).
export interface ControlRecord {
  time: string;
  level: string;
  component: string;
  node: string;
  cluster: string;
  msg: string;
}
