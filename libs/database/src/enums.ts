/**
 * Every status and kind the database stores, defined once. Entities and migrations both read
 * these; a migration that later adds a value uses `ALTER TYPE ... ADD VALUE IF NOT EXISTS` so
 * the initial migration (which reads the current list) and the later one never disagree.
 */
export const OrgStatus = {
  Pending: 'pending',
  Provisioning: 'provisioning',
  Running: 'running',
  Deleting: 'deleting',
  Deleted: 'deleted',
  Failed: 'failed',
} as const;
export type OrgStatus = (typeof OrgStatus)[keyof typeof OrgStatus];

export const WorkspaceStatus = {
  Pending: 'pending',
  Provisioning: 'provisioning',
  Booting: 'booting',
  Online: 'online',
  Degraded: 'degraded',
  Offline: 'offline',
  Failed: 'failed',
  Deleting: 'deleting',
  Deleted: 'deleted',
} as const;
export type WorkspaceStatus = (typeof WorkspaceStatus)[keyof typeof WorkspaceStatus];

export const InstanceStatus = {
  Pending: 'pending',
  Launching: 'launching',
  Running: 'running',
  Terminating: 'terminating',
  Terminated: 'terminated',
  Failed: 'failed',
} as const;
export type InstanceStatus = (typeof InstanceStatus)[keyof typeof InstanceStatus];

export const ComputeProvider = { Local: 'local', Ec2: 'ec2' } as const;
export type ComputeProvider = (typeof ComputeProvider)[keyof typeof ComputeProvider];

export const WorkspaceTokenKind = { Bootstrap: 'bootstrap', Session: 'session' } as const;
export type WorkspaceTokenKind = (typeof WorkspaceTokenKind)[keyof typeof WorkspaceTokenKind];

export const ApiKeyKind = { Org: 'org', Partner: 'partner' } as const;
export type ApiKeyKind = (typeof ApiKeyKind)[keyof typeof ApiKeyKind];

/** Org roles, strongest first: a role grants everything the roles after it grant. */
export const OrgRole = {
  Owner: 'owner',
  Admin: 'admin',
  Member: 'member',
  Viewer: 'viewer',
} as const;
export type OrgRole = (typeof OrgRole)[keyof typeof OrgRole];

export const PartnerScope = {
  OrgsCreate: 'orgs:create',
  OrgsRead: 'orgs:read',
  OrgsDelete: 'orgs:delete',
  ProvisionStatus: 'provision:status',
} as const;
export type PartnerScope = (typeof PartnerScope)[keyof typeof PartnerScope];

export const MemoryScope = { Local: 'LOCAL', Team: 'TEAM', Global: 'GLOBAL' } as const;
export type MemoryScope = (typeof MemoryScope)[keyof typeof MemoryScope];

export const ApprovalState = {
  NotRequired: 'not_required',
  Pending: 'pending',
  Approved: 'approved',
  Rejected: 'rejected',
} as const;
export type ApprovalState = (typeof ApprovalState)[keyof typeof ApprovalState];

export const ResourceType = { Org: 'org', Workspace: 'workspace' } as const;
export type ResourceType = (typeof ResourceType)[keyof typeof ResourceType];

export const OperationStatus = {
  Queued: 'queued',
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
} as const;
export type OperationStatus = (typeof OperationStatus)[keyof typeof OperationStatus];

/** Statuses of an operation that still holds its resource (see the partial unique index). */
export const UNFINISHED_OPERATION_STATUSES: readonly OperationStatus[] = [
  OperationStatus.Queued,
  OperationStatus.Running,
];

/** The Postgres enum type name and the values of each enum above. */
export const PG_ENUMS = {
  org_status: OrgStatus,
  workspace_status: WorkspaceStatus,
  instance_status: InstanceStatus,
  compute_provider: ComputeProvider,
  workspace_token_kind: WorkspaceTokenKind,
  api_key_kind: ApiKeyKind,
  org_role: OrgRole,
  memory_scope: MemoryScope,
  approval_state: ApprovalState,
  resource_type: ResourceType,
  operation_status: OperationStatus,
} as const;

export function enumValues<T extends Record<string, string>>(e: T): T[keyof T][] {
  return Object.values(e) as T[keyof T][];
}
