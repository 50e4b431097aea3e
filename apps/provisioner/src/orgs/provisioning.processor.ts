import { Processor, WorkerHost } from '@nestjs/bullmq';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@molecule/audit';
import { Org, OrgStatus, Workspace, WorkspaceStatus } from '@molecule/database';
import { OrgEvents } from '@molecule/events';
import { InjectPinoLogger, PinoLogger } from '@molecule/logging';
import { JobName, QueueName, type JobEnvelope } from '@molecule/jobs';
import { UnrecoverableError, type Job } from 'bullmq';
import { In, type DataSource } from 'typeorm';
import { WorkspaceDeleter } from '../workspaces/workspace-deleter.service';
import { WorkspaceProvisioner } from '../workspaces/workspace-provisioner.service';

/** A workspace whose launch failed for good is `failed` from any of these. */
const STARTING: readonly WorkspaceStatus[] = [
  WorkspaceStatus.Pending,
  WorkspaceStatus.Provisioning,
  WorkspaceStatus.Booting,
];
import { describe, OperationRunner } from '../operations/operation-runner';
import { OrgDeleter } from './org-deleter.service';
import { OrgProvisioner } from './org-provisioner.service';

/**
 * The `provisioning` queue's worker. A short lock and stalled-check interval mean that when a
 * provisioner dies mid-job, another (or the restarted one) takes the job over within seconds.
 */
@Processor(QueueName.Provisioning, {
  concurrency: 8,
  lockDuration: 10_000,
  stalledInterval: 5_000,
  maxStalledCount: 5,
})
export class ProvisioningProcessor extends WorkerHost {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly runner: OperationRunner,
    private readonly provisioner: OrgProvisioner,
    private readonly deleter: OrgDeleter,
    private readonly workspaces: WorkspaceProvisioner,
    private readonly workspaceDeleter: WorkspaceDeleter,
    private readonly audit: AuditService,
    private readonly events: OrgEvents,
    @InjectPinoLogger(ProvisioningProcessor.name) private readonly logger: PinoLogger,
  ) {
    super();
  }

  async process(job: Job): Promise<void> {
    const envelope = { name: job.name, data: job.data as unknown } as JobEnvelope;
    if (!('operationId' in envelope.data))
      throw new UnrecoverableError(`unexpected job ${job.name}`);
    const { operationId } = envelope.data;
    // A finished operation (done, failed, superseded) is never run again.
    if (!(await this.runner.operations.begin(operationId))) return;
    this.logger.info(
      { operationId, job: job.name, attempt: job.attemptsMade + 1 },
      'Operation started',
    );
    try {
      switch (envelope.name) {
        case JobName.OrgProvision:
          await this.provisioner.provision(envelope.data);
          break;
        case JobName.OrgDelete:
          await this.deleter.delete(envelope.data);
          break;
        case JobName.WorkspaceProvision:
          await this.workspaces.provision(envelope.data);
          break;
        case JobName.WorkspaceRestart:
          await this.workspaces.restart(envelope.data);
          break;
        case JobName.WorkspaceDelete:
          await this.workspaceDeleter.delete(envelope.data);
          break;
        default:
          throw new UnrecoverableError(`${job.name} is not a provisioning job`);
      }
      await this.runner.operations.succeed(operationId);
      this.logger.info({ operationId, job: job.name }, 'Operation succeeded');
    } catch (error) {
      const final =
        error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final) await this.giveUp(envelope, operationId, describe(error));
      else await this.runner.operations.noteError(operationId, describe(error));
      this.logger.warn(
        { operationId, job: job.name, final, err: error },
        'Operation attempt failed',
      );
      throw error;
    } finally {
      await this.runner.announce(operationId);
    }
  }

  /** The last attempt failed: the operation and, for provisioning, the org become `failed`. */
  private async giveUp(job: JobEnvelope, operationId: string, reason: string) {
    // Only the operation that still owned its resource may mark the resource failed.
    if (!(await this.runner.operations.fail(operationId, reason))) return;
    if (job.name === JobName.WorkspaceProvision || job.name === JobName.WorkspaceRestart) {
      const { workspaceId } = job.data;
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
      return;
    }
    if (job.name !== JobName.OrgProvision) return;
    const { orgId } = job.data;
    await this.dataSource.transaction(async (tx) => {
      const result = await tx.update(
        Org,
        { id: orgId, status: OrgStatus.Provisioning },
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
