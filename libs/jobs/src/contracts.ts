/**
 * Queue and job contracts shared by producers (api, registry) and consumers (provisioner).
 * Payloads carry ids and an idempotency key only: never secrets, never whole entities. Workers
 * re-read the current state from Postgres.
 */

export const QueueName = {
  /** Launch, delete and restart orgs and workspaces. Job id = operation id. */
  Provisioning: 'provisioning',
  /** Workspace health sweeps: heartbeat flush and offline detection (repeatable). */
  Health: 'health',
  /** Orphan sweeps and stuck-operation reaping (repeatable). */
  Reconcile: 'reconcile',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const QUEUE_NAMES: readonly QueueName[] = Object.values(QueueName);

export const JobName = {
  OrgProvision: 'org.provision',
  OrgDelete: 'org.delete',
  WorkspaceProvision: 'workspace.provision',
  WorkspaceDelete: 'workspace.delete',
  WorkspaceRestart: 'workspace.restart',
  HealthSweep: 'health.sweep',
  OrphanSweep: 'reconcile.orphans',
  OperationReap: 'reconcile.operations',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** Every job driven by an `operations` row carries its id (also the BullMQ job id). */
interface OperationJob {
  operationId: string;
  idempotencyKey: string;
}

export interface OrgJob extends OperationJob {
  orgId: string;
}

export interface WorkspaceJob extends OperationJob {
  orgId: string;
  workspaceId: string;
}

/** Scheduled jobs have no resource; the key de-duplicates one tick across replicas. */
export interface SweepJob {
  idempotencyKey: string;
}

export interface JobPayloads {
  [JobName.OrgProvision]: OrgJob;
  [JobName.OrgDelete]: OrgJob;
  [JobName.WorkspaceProvision]: WorkspaceJob;
  [JobName.WorkspaceDelete]: WorkspaceJob;
  [JobName.WorkspaceRestart]: WorkspaceJob;
  [JobName.HealthSweep]: SweepJob;
  [JobName.OrphanSweep]: SweepJob;
  [JobName.OperationReap]: SweepJob;
}

/** Which queue each job travels on. */
export const JOB_QUEUE: { readonly [J in JobName]: QueueName } = {
  [JobName.OrgProvision]: QueueName.Provisioning,
  [JobName.OrgDelete]: QueueName.Provisioning,
  [JobName.WorkspaceProvision]: QueueName.Provisioning,
  [JobName.WorkspaceDelete]: QueueName.Provisioning,
  [JobName.WorkspaceRestart]: QueueName.Provisioning,
  [JobName.HealthSweep]: QueueName.Health,
  [JobName.OrphanSweep]: QueueName.Reconcile,
  [JobName.OperationReap]: QueueName.Reconcile,
};

/** A job as a discriminated union: `switch (job.name)` narrows `job.data`. */
export type JobEnvelope = { [J in JobName]: { name: J; data: JobPayloads[J] } }[JobName];

/**
 * BullMQ prefix of a queue. The `{…}` hash tag keeps each queue's keys in one Redis Cluster
 * slot, as BullMQ's Lua scripts require; ioredis `keyPrefix` must never be used with BullMQ.
 */
export function queuePrefix(basePrefix: string, queue: QueueName): string {
  return `${basePrefix}:{${queue}}`;
}

/** BullMQ options a producer uses for a job (a subset of BullMQ's `JobsOptions`). */
export interface JobPolicy {
  attempts: number;
  backoff: { type: 'exponential'; delay: number };
  removeOnComplete: { age: number; count: number };
  removeOnFail: { age: number };
}

const keep = { removeOnComplete: { age: 3_600, count: 1_000 }, removeOnFail: { age: 7 * 86_400 } };

/**
 * Each job's retry policy. Operations retry with backoff; a worker throws BullMQ's
 * `UnrecoverableError` for errors retrying cannot fix (bad input, a resource already gone), and
 * marks the operation and its resource `failed` when the last attempt fails.
 */
export const JOB_POLICY: { readonly [J in JobName]: JobPolicy } = {
  [JobName.OrgProvision]: { attempts: 5, backoff: { type: 'exponential', delay: 2_000 }, ...keep },
  [JobName.OrgDelete]: { attempts: 10, backoff: { type: 'exponential', delay: 2_000 }, ...keep },
  [JobName.WorkspaceProvision]: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
    ...keep,
  },
  [JobName.WorkspaceDelete]: {
    attempts: 10,
    backoff: { type: 'exponential', delay: 2_000 },
    ...keep,
  },
  [JobName.WorkspaceRestart]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 2_000 },
    ...keep,
  },
  [JobName.HealthSweep]: { attempts: 1, backoff: { type: 'exponential', delay: 1_000 }, ...keep },
  [JobName.OrphanSweep]: { attempts: 1, backoff: { type: 'exponential', delay: 1_000 }, ...keep },
  [JobName.OperationReap]: { attempts: 1, backoff: { type: 'exponential', delay: 1_000 }, ...keep },
};

/** Jobs that carry out an `operations` row. */
export type OperationJobName =
  | typeof JobName.OrgProvision
  | typeof JobName.OrgDelete
  | typeof JobName.WorkspaceProvision
  | typeof JobName.WorkspaceDelete
  | typeof JobName.WorkspaceRestart;

const OPERATION_JOBS: ReadonlySet<string> = new Set<OperationJobName>([
  JobName.OrgProvision,
  JobName.OrgDelete,
  JobName.WorkspaceProvision,
  JobName.WorkspaceDelete,
  JobName.WorkspaceRestart,
]);

/** The fields of an `operations` row a job is built from. */
export interface OperationRef {
  id: string;
  kind: string;
  idempotencyKey: string | null;
  orgId: string | null;
  resourceType: string;
  resourceId: string;
}

/**
 * The BullMQ job that carries out an operation: its name, ids-only payload and options (the job
 * id is the operation id, so enqueueing twice is harmless). Every producer (the API, the reaper)
 * builds its jobs here. Throws for an operation of a kind no worker runs.
 */
export function operationJob(operation: OperationRef): {
  name: OperationJobName;
  data: OrgJob | WorkspaceJob;
  opts: JobPolicy & { jobId: string };
} {
  if (!OPERATION_JOBS.has(operation.kind) || operation.orgId === null) {
    throw new Error(`Operation ${operation.id} (${operation.kind}) is not run by a job`);
  }
  const name = operation.kind as OperationJobName;
  const common = {
    operationId: operation.id,
    idempotencyKey: operation.idempotencyKey ?? operation.id,
    orgId: operation.orgId,
  };
  const data =
    operation.resourceType === 'workspace'
      ? { ...common, workspaceId: operation.resourceId }
      : common;
  return { name, data, opts: { jobId: operation.id, ...JOB_POLICY[name] } };
}

/** The steps of `org.provision`, in order (the API reports progress against this list). */
export const ORG_PROVISION_STEPS = [
  'generate-credential',
  'launch-host',
  'wait-running',
  'wait-healthy',
  'publish-route',
  'mark-running',
] as const;

/** The steps of `org.delete`, in order; each records what it removed for the receipt. */
export const ORG_DELETE_STEPS = [
  'delete-workspaces',
  'remove-routes',
  'terminate-hosts',
  'revoke-credentials',
  'purge-data',
  'destroy-data-key',
  'mark-deleted',
] as const;
