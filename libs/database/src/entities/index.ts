import { A2aCall } from './a2a-call.entity';
import { ApiKey } from './api-key.entity';
import { AuditEvent } from './audit-event.entity';
import { IdempotencyRecord } from './idempotency-record.entity';
import { Memory } from './memory.entity';
import { Operation } from './operation.entity';
import { OrgDataKey } from './org-data-key.entity';
import { Org } from './org.entity';
import { SecretValue } from './secret.entity';
import { TenantInstance } from './tenant-instance.entity';
import { WorkspaceToken } from './workspace-token.entity';
import { Workspace } from './workspace.entity';

export {
  A2aCall,
  ApiKey,
  AuditEvent,
  IdempotencyRecord,
  Memory,
  Operation,
  Org,
  OrgDataKey,
  SecretValue,
  TenantInstance,
  Workspace,
  WorkspaceToken,
};
export type { OperationStep } from './operation.entity';

export const ENTITIES = [
  Org,
  TenantInstance,
  Workspace,
  WorkspaceToken,
  ApiKey,
  SecretValue,
  Memory,
  Operation,
  AuditEvent,
  OrgDataKey,
  IdempotencyRecord,
  A2aCall,
];
