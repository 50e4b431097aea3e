import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@molecule/audit';
import { COMPUTE_DRIVER, type ComputeDriver, type InstanceInfo } from '@molecule/compute';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import {
  InstanceStatus,
  Operation,
  OrgStatus,
  Org,
  TenantInstance,
  UNFINISHED_OPERATION_STATUSES,
  Workspace,
  WorkspaceStatus,
} from '@molecule/database';
import { InjectPinoLogger, PinoLogger } from '@molecule/logging';
import { In, Not, type DataSource } from 'typeorm';

export interface OrphanReport {
  dryRun: boolean;
  orphans: { instanceId: string; org: string; resource: string; reason: string }[];
  terminated: string[];
}

/**
 * Terminates managed instances that nothing live owns any more (SPEC §4.7), so no one ever has to
 * delete rows or instances by hand. An instance is kept while its resource is live and records
 * it, or while the operation that launched it is still running; young instances get a grace
 * period (they may be between launch and being recorded).
 */
@Injectable()
export class OrphanSweeper {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(COMPUTE_DRIVER) private readonly compute: ComputeDriver,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    @InjectPinoLogger(OrphanSweeper.name) private readonly logger: PinoLogger,
  ) {}

  async sweep(now = new Date()): Promise<OrphanReport> {
    const { orphanGraceSeconds, orphanDryRun } = this.config.reconcile;
    const report: OrphanReport = { dryRun: orphanDryRun, orphans: [], terminated: [] };
    for (const instance of await this.compute.listManaged()) {
      if (now.getTime() - instance.launchedAt.getTime() < orphanGraceSeconds * 1000) continue;
      const reason = await this.orphanReason(instance);
      if (!reason) continue;
      const orphan = {
        instanceId: instance.instanceId,
        org: instance.tags['molecule:org'],
        resource: `${instance.tags['molecule:resource-type']}:${instance.tags['molecule:resource']}`,
        reason,
      };
      report.orphans.push(orphan);
      if (orphanDryRun) {
        this.logger.warn(orphan, 'Orphaned instance found (dry run: left running)');
        continue;
      }
      await this.compute.terminate(instance.instanceId);
      await this.audit.append({
        chain: orphan.org,
        actor: 'system:reconciler',
        action: 'instance.orphan.terminated',
        target: `instance:${instance.instanceId}`,
        data: {
          resource: orphan.resource,
          reason,
          operationId: instance.tags['molecule:operation'],
        },
      });
      this.logger.warn(orphan, 'Orphaned instance terminated');
      report.terminated.push(instance.instanceId);
    }
    return report;
  }

  /** Why nothing owns the instance, or undefined when something does. */
  private async orphanReason(instance: InstanceInfo): Promise<string | undefined> {
    const tags = instance.tags;
    const launching = await this.dataSource.getRepository(Operation).existsBy({
      id: tags['molecule:operation'],
      status: In(UNFINISHED_OPERATION_STATUSES),
    });
    if (launching) return undefined;
    const org = await this.dataSource.getRepository(Org).findOneBy({ id: tags['molecule:org'] });
    if (!org || org.status === OrgStatus.Deleted) return 'its org no longer exists';
    if (tags['molecule:resource-type'] === 'org') {
      const owned = await this.dataSource.getRepository(TenantInstance).existsBy({
        orgId: org.id,
        providerInstanceId: instance.instanceId,
        status: Not(InstanceStatus.Terminated),
      });
      return owned ? undefined : 'no tenant host record owns it';
    }
    const owned = await this.dataSource.getRepository(Workspace).existsBy({
      id: tags['molecule:resource'],
      providerInstanceId: instance.instanceId,
      status: Not(In([WorkspaceStatus.Deleted])),
    });
    return owned ? undefined : 'no workspace record owns it';
  }
}
