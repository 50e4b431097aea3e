import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@molecule/audit';
import { WorkspaceTokens } from '@molecule/auth';
import { COMPUTE_DRIVER, type ComputeDriver } from '@molecule/compute';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { SecretValue, Workspace, WorkspaceStatus } from '@molecule/database';
import { OrgEvents } from '@molecule/events';
import type { WorkspaceJob } from '@molecule/jobs';
import { REDIS, redisKey } from '@molecule/redis';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { OperationRunner } from '../operations/operation-runner';
import { WorkspaceProvisioner } from './workspace-provisioner.service';

/**
 * `workspace.delete` (SPEC §4.7): the API already marked it `deleting` and revoked its tokens;
 * here tokens are revoked again (idempotent), the instance and every instance tagged with the
 * workspace are terminated, its secrets and liveness purged, and the result audited.
 */
@Injectable()
export class WorkspaceDeleter {
  private readonly tokens: WorkspaceTokens;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(COMPUTE_DRIVER) private readonly compute: ComputeDriver,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly provisioner: WorkspaceProvisioner,
    private readonly runner: OperationRunner,
    private readonly audit: AuditService,
    private readonly events: OrgEvents,
  ) {
    this.tokens = new WorkspaceTokens(dataSource);
  }

  async delete({ operationId, workspaceId }: WorkspaceJob): Promise<void> {
    const workspace = await this.dataSource.getRepository(Workspace).findOneBy({ id: workspaceId });
    if (!workspace) throw new UnrecoverableError(`workspace ${workspaceId} does not exist`);
    if (
      workspace.status !== WorkspaceStatus.Deleting &&
      workspace.status !== WorkspaceStatus.Deleted
    ) {
      throw new UnrecoverableError(`workspace is ${workspace.status}, not deleting`);
    }
    const step = (name: string, work: () => Promise<Record<string, unknown>>) =>
      this.runner.step(operationId, name, work);
    await step('revoke-tokens', async () => ({
      revoked: await this.tokens.revokeAll(workspaceId),
    }));
    await step('terminate-instance', async () => {
      const tagged = (await this.compute.listManaged()).filter(
        (i) => i.tags['molecule:resource'] === workspaceId,
      );
      const ids = [
        ...new Set([
          ...(workspace.providerInstanceId ? [workspace.providerInstanceId] : []),
          ...tagged.map((i) => i.instanceId),
        ]),
      ];
      for (const id of ids) await this.provisioner.terminate(id);
      return { instanceIds: ids };
    });
    await step('purge', async () => {
      const secrets = await this.dataSource.getRepository(SecretValue).delete({ workspaceId });
      await this.redis
        .multi()
        .del(redisKey(this.config, 'heartbeat', workspaceId))
        .zrem(redisKey(this.config, 'heartbeats'), workspaceId)
        .exec();
      return { secrets: secrets.affected ?? 0 };
    });
    await step('mark-deleted', async () => {
      const deleted = await this.dataSource.transaction(async (tx) => {
        const result = await tx.update(
          Workspace,
          { id: workspaceId, status: WorkspaceStatus.Deleting },
          { status: WorkspaceStatus.Deleted, deletedAt: new Date() },
        );
        if (result.affected) {
          await this.audit.append(
            {
              chain: workspace.orgId,
              actor: 'system:provisioner',
              action: 'workspace.deleted',
              target: `workspace:${workspaceId}`,
              data: { operationId },
            },
            tx,
          );
        }
        return Boolean(result.affected);
      });
      if (deleted) {
        await this.events.workspaceStatus(workspace.orgId, {
          workspaceId,
          status: WorkspaceStatus.Deleted,
          previous: WorkspaceStatus.Deleting,
        });
      }
      return { deleted: true };
    });
  }
}
