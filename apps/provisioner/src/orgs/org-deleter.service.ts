import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService, ORG_DELETION_RECEIPT } from '@molecule/audit';
import { COMPUTE_DRIVER, terminateAndWait, type ComputeDriver } from '@molecule/compute';
import { EnvelopeCipher } from '@molecule/crypto';
import {
  A2aCall,
  ApiKey,
  IdempotencyRecord,
  InstanceStatus,
  Memory,
  Operation,
  Org,
  OrgStatus,
  PostgresDataKeyStore,
  SecretValue,
  TenantInstance,
  transitionOrg,
  Workspace,
  WorkspaceStatus,
  WorkspaceToken,
} from '@molecule/database';
import { OrgEvents } from '@molecule/events';
import { ORG_DELETE_STEPS, type OrgJob } from '@molecule/jobs';
import { ROUTE_PUBLISHERS, type RoutePublisher } from '@molecule/routes';
import { UnrecoverableError } from 'bullmq';
import { In, Not, type DataSource } from 'typeorm';
import { OperationRunner } from '../operations/operation-runner';

/**
 * `org.delete` (SPEC §4.7): workspaces, routes, hosts, credentials, data, then the data key, and
 * finally the receipt. Each step records what it removed, so a resumed cascade still reports
 * everything; every step is safe to run again.
 */
@Injectable()
export class OrgDeleter {
  private readonly dataKeys: PostgresDataKeyStore;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(COMPUTE_DRIVER) private readonly compute: ComputeDriver,
    @Inject(ROUTE_PUBLISHERS) private readonly routes: RoutePublisher,
    private readonly cipher: EnvelopeCipher,
    private readonly runner: OperationRunner,
    private readonly audit: AuditService,
    private readonly events: OrgEvents,
  ) {
    this.dataKeys = new PostgresDataKeyStore(dataSource);
  }

  async delete({ operationId, orgId }: OrgJob): Promise<void> {
    const org = await this.dataSource.getRepository(Org).findOneBy({ id: orgId });
    if (!org) throw new UnrecoverableError(`org ${orgId} does not exist`);
    if (org.status !== OrgStatus.Deleting && org.status !== OrgStatus.Deleted) {
      throw new UnrecoverableError(`org is ${org.status}, not deleting`);
    }
    const step = (
      name: (typeof ORG_DELETE_STEPS)[number],
      work: () => Promise<Record<string, unknown>>,
    ) => this.runner.step(operationId, name, work);

    await step('delete-workspaces', () => this.deleteWorkspaces(org));
    await step('remove-routes', () => this.removeRoutes(org));
    await step('terminate-hosts', () => this.terminateHosts(org));
    await step('revoke-credentials', () => this.revokeCredentials(org));
    await step('purge-data', () => this.purgeData(org));
    await step('destroy-data-key', () => this.destroyDataKey(org));
    await step('mark-deleted', () => this.markDeleted(org, operationId));
  }

  /** Marked `deleting` first so a late heartbeat cannot bring one back, then stopped and removed. */
  private async deleteWorkspaces(org: Org) {
    const workspaces = this.dataSource.getRepository(Workspace);
    const live = await workspaces.findBy({ orgId: org.id, status: Not(WorkspaceStatus.Deleted) });
    await workspaces.update(
      { orgId: org.id, status: Not(WorkspaceStatus.Deleted) },
      { status: WorkspaceStatus.Deleting },
    );
    for (const w of live.filter((w) => w.status !== WorkspaceStatus.Deleting)) {
      await this.events.workspaceStatus(org.id, {
        workspaceId: w.id,
        status: WorkspaceStatus.Deleting,
        previous: w.status,
        reason: 'org_deleted',
      });
    }
    const instances = live.flatMap((w) => (w.providerInstanceId ? [w.providerInstanceId] : []));
    await terminateAndWait(this.compute, instances);
    await workspaces.update(
      { orgId: org.id, status: WorkspaceStatus.Deleting },
      { status: WorkspaceStatus.Deleted, deletedAt: new Date() },
    );
    for (const w of live) {
      await this.events.workspaceStatus(org.id, {
        workspaceId: w.id,
        status: WorkspaceStatus.Deleted,
        previous: WorkspaceStatus.Deleting,
        reason: 'org_deleted',
      });
    }
    return { workspaces: live.length, workspaceIds: live.map((w) => w.id), instanceIds: instances };
  }

  /**
   * Removes this org's route from every store. A newer owner of the slug holds a higher
   * generation, which the stores refuse to remove; a store that already lost it is fine.
   */
  private async removeRoutes(org: Org) {
    const hosts = await this.dataSource.getRepository(TenantInstance).findBy({ orgId: org.id });
    const generation = Math.max(0, ...hosts.map((h) => h.routeGeneration));
    if (generation === 0) return { routes: 0, slug: org.slug };
    const removed = await this.routes.remove(org.slug, generation);
    return { routes: removed ? 1 : 0, slug: org.slug, generation };
  }

  /** Recorded hosts, plus any instance tagged with this org (e.g. from a superseded launch). */
  private async terminateHosts(org: Org) {
    const rows = this.dataSource.getRepository(TenantInstance);
    const recorded = await rows.findBy({ orgId: org.id, status: Not(InstanceStatus.Terminated) });
    const tagged = (await this.compute.listManaged()).filter(
      (i) => i.tags['molecule:org'] === org.id,
    );
    const ids = [
      ...new Set([
        ...recorded.flatMap((r) => (r.providerInstanceId ? [r.providerInstanceId] : [])),
        ...tagged.map((i) => i.instanceId),
      ]),
    ];
    await terminateAndWait(this.compute, ids);
    await rows.update(
      { orgId: org.id, status: Not(InstanceStatus.Terminated) },
      { status: InstanceStatus.Terminated, terminatedAt: new Date(), adminTokenCiphertext: null },
    );
    return { instances: ids.length, instanceIds: ids };
  }

  private async revokeCredentials(org: Org) {
    return this.dataSource.transaction(async (tx) => {
      const keys = await tx.delete(ApiKey, { orgId: org.id });
      const workspaceIds = (await tx.findBy(Workspace, { orgId: org.id })).map((w) => w.id);
      const tokens = workspaceIds.length
        ? await tx.delete(WorkspaceToken, { workspaceId: In(workspaceIds) })
        : { affected: 0 };
      return { apiKeys: keys.affected ?? 0, workspaceTokens: tokens.affected ?? 0 };
    });
  }

  private async purgeData(org: Org) {
    return this.dataSource.transaction(async (tx) => {
      const secrets = await tx.delete(SecretValue, { orgId: org.id });
      const memories = await tx.delete(Memory, { orgId: org.id });
      const replays = await tx.delete(IdempotencyRecord, { orgId: org.id });
      const calls = await tx.delete(A2aCall, { orgId: org.id });
      await tx.update(TenantInstance, { orgId: org.id }, { adminTokenCiphertext: null });
      return {
        secrets: secrets.affected ?? 0,
        memories: memories.affected ?? 0,
        idempotencyRecords: replays.affected ?? 0,
        a2aCalls: calls.affected ?? 0,
      };
    });
  }

  /** Crypto-shredding: whatever ciphertext of this org survives anywhere can never be read again. */
  private async destroyDataKey(org: Org) {
    const dataKeys = await this.dataKeys.deleteForOrg(org.id);
    this.cipher.forgetOrg(org.id);
    return { dataKeys };
  }

  private async markDeleted(org: Org, operationId: string) {
    const operation = await this.dataSource
      .getRepository(Operation)
      .findOneByOrFail({ id: operationId });
    const removed = Object.fromEntries(
      operation.steps.filter((s) => s.result).map((s) => [s.name, s.result]),
    );
    return this.dataSource.transaction(async (tx) => {
      const current = await tx.findOneByOrFail(Org, { id: org.id });
      if (current.status === OrgStatus.Deleted) return { receipt: 'already filed' };
      await transitionOrg(tx, org.id, [OrgStatus.Deleting], OrgStatus.Deleted, {
        deletedAt: new Date(),
      });
      await this.runner.operations.succeedWithin(tx, operationId, 'mark-deleted');
      const event = await this.audit.append(
        {
          chain: org.id,
          actor: 'system:provisioner',
          action: ORG_DELETION_RECEIPT,
          target: `org:${org.id}`,
          data: { slug: org.slug, operationId, completedAt: new Date().toISOString(), removed },
        },
        tx,
      );
      return { receiptEventId: event.id };
    });
  }
}
