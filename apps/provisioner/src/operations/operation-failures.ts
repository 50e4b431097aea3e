import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@molecule/audit';
import {
  OperationsRepository,
  Org,
  OrgStatus,
  Workspace,
  WorkspaceStatus,
} from '@molecule/database';
import { OrgEvents } from '@molecule/events';
import { JobName } from '@molecule/jobs';
import { In, type DataSource } from 'typeorm';

/** A workspace whose launch failed for good is `failed` from any of these. */
const STARTING: readonly WorkspaceStatus[] = [
  WorkspaceStatus.Pending,
  WorkspaceStatus.Provisioning,
  WorkspaceStatus.Booting,
];
/** An org whose provisioning failed for good is `failed` from any of these (then retryable). */
const PROVISIONING: readonly OrgStatus[] = [OrgStatus.Pending, OrgStatus.Provisioning];

/**
 * Giving up on an operation: it becomes `failed`, and so does the resource it was creating (an
 * org being provisioned, a workspace being launched), with the reason, audited and announced.
 * Used when a job's last attempt fails and when the reaper gives up on an operation that never
 * made progress, so a resource is never left `provisioning` forever.
 */
@Injectable()
export class OperationFailures {
  private readonly operations: OperationsRepository;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly events: OrgEvents,
  ) {
    this.operations = new OperationsRepository(dataSource);
  }

  /** Returns false when the operation had already finished (nothing changed). */
  async giveUp(
    operation: { id: string; kind: string; resourceId: string },
    reason: string,
  ): Promise<boolean> {
    // Only the operation that still owned its resource may mark the resource failed.
    if (!(await this.operations.fail(operation.id, reason))) return false;
    if (
      operation.kind === JobName.WorkspaceProvision ||
      operation.kind === JobName.WorkspaceRestart
    ) {
      await this.failWorkspace(operation.resourceId, reason);
    } else if (operation.kind === JobName.OrgProvision) {
      await this.failOrg(operation.resourceId, operation.id, reason);
    }
    return true;
  }

  private async failWorkspace(workspaceId: string, reason: string): Promise<void> {
    const workspaces = this.dataSource.getRepository(Workspace);
    const before = await workspaces.findOneBy({ id: workspaceId });
    const result = await workspaces.update(
      { id: workspaceId, status: In(STARTING) },
      { status: WorkspaceStatus.Failed, lastError: reason },
    );
    if (result.affected && before) {
      await this.events.workspaceStatus(before.orgId, {
        workspaceId,
        status: WorkspaceStatus.Failed,
        previous: before.status,
        reason: 'provision_failed',
      });
    }
  }

  private async failOrg(orgId: string, operationId: string, reason: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const result = await tx.update(
        Org,
        { id: orgId, status: In(PROVISIONING) },
        { status: OrgStatus.Failed },
      );
      if (!result.affected) return;
      await this.audit.append(
        {
          chain: orgId,
          actor: 'system:provisioner',
          action: 'org.provision.failed',
          target: `org:${orgId}`,
          data: { operationId, reason },
        },
        tx,
      );
    });
  }
}
