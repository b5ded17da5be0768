// How statuses look: one tone per phase, used by every badge.

export type Tone = 'ok' | 'done' | 'wait' | 'sched' | 'work' | 'bad' | 'off';

const tones: Record<string, Tone> = {
  RUNNING: 'ok',
  ACTIVE: 'ok',
  COMPLETED: 'done',
  REQUESTED: 'wait',
  CLUSTER_SCHEDULED: 'sched',
  NODE_SCHEDULED: 'sched',
  CREATING: 'work',
  CREATED: 'work',
  FAILED: 'bad',
  DEAD: 'bad',
  UNDEPLOYED: 'off',
};

export function toneOf(status: string | undefined): Tone {
  if (!status) return 'off';
  if (tones[status]) return tones[status];
  // The scheduler's negative answers: NoActiveClusterWithCapacity, TargetClusterNotFound, ...
  if (/^(No|Target)/.test(status) || /fail|error/i.test(status)) return 'bad';
  return 'wait';
}

export const statusHelp: Record<string, string> = {
  REQUESTED: 'waiting for the root scheduler',
  CLUSTER_SCHEDULED: 'a cluster was chosen; waiting for a worker',
  NODE_SCHEDULED: 'a worker was chosen and is preparing it',
  CREATING: 'the worker is pulling and creating it',
  RUNNING: 'running',
  COMPLETED: 'finished successfully (one-shot)',
  FAILED: 'could not be started',
  DEAD: 'exited; it will be started again',
  UNDEPLOYED: 'removed',
  NoActiveClusterWithCapacity: 'no connected cluster has room for it',
};
