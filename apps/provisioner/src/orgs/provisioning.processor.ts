import { Processor, WorkerHost } from '@nestjs/bullmq';
import { InjectPinoLogger, PinoLogger } from '@molecule/logging';
import { JobName, QueueName, type JobEnvelope } from '@molecule/jobs';
import { UnrecoverableError, type Job } from 'bullmq';
import { WorkspaceDeleter } from '../workspaces/workspace-deleter.service';
import { WorkspaceProvisioner } from '../workspaces/workspace-provisioner.service';
import { OperationFailures } from '../operations/operation-failures';
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
    private readonly runner: OperationRunner,
    private readonly provisioner: OrgProvisioner,
    private readonly deleter: OrgDeleter,
    private readonly workspaces: WorkspaceProvisioner,
    private readonly workspaceDeleter: WorkspaceDeleter,
    private readonly failures: OperationFailures,
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
      if (final) {
        await this.failures.giveUp(
          { id: operationId, kind: job.name, resourceId: resourceOf(envelope) },
          describe(error),
        );
      } else await this.runner.operations.noteError(operationId, describe(error));
      this.logger.warn(
        { operationId, job: job.name, final, err: error },
        'Operation attempt failed',
      );
      throw error;
    } finally {
      await this.runner.announce(operationId);
    }
  }
}

/** The id of what the job works on: the workspace of a workspace job, else the org. */
function resourceOf(job: JobEnvelope): string {
  return 'workspaceId' in job.data
    ? job.data.workspaceId
    : 'orgId' in job.data
      ? job.data.orgId
      : '';
}
