import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@molecule/audit';
import { WorkspaceTokens } from '@molecule/auth';
import {
  COMPUTE_DRIVER,
  terminateAndWait,
  type ComputeDriver,
  type InstanceInfo,
} from '@molecule/compute';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { EnvelopeCipher } from '@molecule/crypto';
import { SecretValue, Workspace, WorkspaceStatus } from '@molecule/database';
import { OrgEvents } from '@molecule/events';
import type { WorkspaceJob } from '@molecule/jobs';
import { RuntimeCatalog, type Runtime } from '@molecule/runtimes';
import { UnrecoverableError } from 'bullmq';
import { In, IsNull, type DataSource } from 'typeorm';
import { OperationRunner } from '../operations/operation-runner';

/** The port a workspace runtime serves (the local driver assigns its own). */
const WORKSPACE_PORT = 8080;
const POLL_MS = 100;

const LAUNCHABLE: readonly WorkspaceStatus[] = [
  WorkspaceStatus.Pending,
  WorkspaceStatus.Provisioning,
  WorkspaceStatus.Booting,
  WorkspaceStatus.Online,
  WorkspaceStatus.Degraded,
  WorkspaceStatus.Offline,
  WorkspaceStatus.Failed,
];
const UP: readonly WorkspaceStatus[] = [WorkspaceStatus.Online, WorkspaceStatus.Degraded];

/**
 * `workspace.provision` and `workspace.restart`: a bootstrap token issued at launch (its hash
 * stored, the token itself only in the host's 0600 env file), the instance recorded before any
 * wait, then the wait for the runtime to register. A runtime that never registers within its
 * timeout is failed with the reason it reported, and its instance terminated.
 */
@Injectable()
export class WorkspaceProvisioner {
  private readonly tokens: WorkspaceTokens;
  private readonly catalog: RuntimeCatalog;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(COMPUTE_DRIVER) private readonly compute: ComputeDriver,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cipher: EnvelopeCipher,
    private readonly runner: OperationRunner,
    private readonly audit: AuditService,
    private readonly events: OrgEvents,
  ) {
    this.tokens = new WorkspaceTokens(dataSource);
    this.catalog = RuntimeCatalog.load(config.runtimeCatalogPath);
  }

  async provision({ operationId, workspaceId }: WorkspaceJob): Promise<void> {
    const workspace = await this.load(workspaceId);
    const runtime = this.catalog.get(workspace.runtime);
    if (!runtime) throw new UnrecoverableError(`unknown runtime ${workspace.runtime}`);
    const { instanceId } = await this.runner.step(operationId, 'launch-instance', () =>
      this.launch(workspace, runtime, operationId),
    );
    await this.runner.step(operationId, 'wait-online', () =>
      this.waitOnline(workspace, runtime, instanceId),
    );
  }

  /** Restart: the old instance and every token go, then a fresh launch under this operation. */
  async restart(job: WorkspaceJob): Promise<void> {
    const workspace = await this.load(job.workspaceId);
    await this.runner.step(job.operationId, 'stop-instance', async () => {
      const revoked = await this.tokens.revokeAll(workspace.id);
      if (workspace.providerInstanceId) await this.terminate(workspace.providerInstanceId);
      return { revokedTokens: revoked, instanceId: workspace.providerInstanceId };
    });
    await this.provision(job);
  }

  private async load(workspaceId: string): Promise<Workspace> {
    const workspace = await this.dataSource.getRepository(Workspace).findOneBy({ id: workspaceId });
    if (!workspace) throw new UnrecoverableError(`workspace ${workspaceId} does not exist`);
    if (!LAUNCHABLE.includes(workspace.status))
      throw new UnrecoverableError(`workspace is ${workspace.status}`);
    return workspace;
  }

  private async launch(workspace: Workspace, runtime: Runtime, operationId: string) {
    // A crash after the launch: the instance exists, its token is in its env file; keep both.
    const existing = await this.compute.findByOperation(operationId);
    if (existing) {
      await this.record(workspace, existing);
      return { instanceId: existing.instanceId };
    }
    const started = await this.dataSource.getRepository(Workspace).update(
      { id: workspace.id, status: In(LAUNCHABLE) },
      {
        status: WorkspaceStatus.Provisioning,
        provisionStartedAt: new Date(),
        bootStage: 'launching',
        lastError: null,
      },
    );
    if (started.affected && workspace.status !== WorkspaceStatus.Provisioning) {
      await this.events.workspaceStatus(workspace.orgId, {
        workspaceId: workspace.id,
        status: WorkspaceStatus.Provisioning,
        previous: workspace.status,
      });
    }
    const secrets = await this.secretsFor(workspace);
    const bootstrap = await this.tokens.issueBootstrap(
      workspace.id,
      operationId,
      this.config.registry.bootstrapTokenTtlSeconds,
    );
    const region = this.config.ec2?.region;
    const ami = region ? runtime.amis[region] : undefined;
    const instance = await this.compute.launch({
      operationId,
      tier: workspace.tier,
      imageId: ami,
      tags: {
        'molecule:managed': 'true',
        'molecule:org': workspace.orgId,
        'molecule:resource-type': 'workspace',
        'molecule:resource': workspace.id,
        'molecule:operation': operationId,
      },
      boot: {
        role: 'workspace',
        launchId: operationId,
        config: {
          workspaceId: workspace.id,
          orgId: workspace.orgId,
          name: workspace.name,
          runtime: runtime.id,
          registryUrl: this.config.registry.publicUrl,
          heartbeatIntervalSeconds: this.config.registry.heartbeatIntervalSeconds,
        },
        secrets: { ...secrets, WORKSPACE_BOOTSTRAP_TOKEN: bootstrap },
        port: WORKSPACE_PORT,
        healthPath: '/health',
        image: runtime.image,
        prebaked: Boolean(ami),
        install: runtime.install,
      },
    });
    await this.record(workspace, instance);
    await this.audit.append({
      chain: workspace.orgId,
      actor: 'system:provisioner',
      action: 'workspace.launched',
      target: `workspace:${workspace.id}`,
      data: { operationId, instanceId: instance.instanceId, prebaked: Boolean(ami) },
    });
    return { instanceId: instance.instanceId };
  }

  private async waitOnline(workspace: Workspace, runtime: Runtime, instanceId: string) {
    const row = await this.dataSource
      .getRepository(Workspace)
      .findOneByOrFail({ id: workspace.id });
    const started = row.provisionStartedAt?.getTime() ?? Date.now();
    const deadline = started + runtime.provisionTimeoutSeconds * 1000;
    for (;;) {
      const current = await this.dataSource
        .getRepository(Workspace)
        .findOneByOrFail({ id: workspace.id });
      if (UP.includes(current.status)) return { onlineAfterMs: Date.now() - started };
      if (
        current.status === WorkspaceStatus.Deleting ||
        current.status === WorkspaceStatus.Deleted
      ) {
        throw new UnrecoverableError('workspace is being deleted');
      }
      if (Date.now() > deadline) {
        const reason =
          `did not register within ${runtime.provisionTimeoutSeconds} s` +
          (current.bootStage ? `; last boot stage: ${current.bootStage}` : '') +
          (current.lastError ? `; last error: ${current.lastError}` : '');
        await this.fail(current, instanceId, reason);
        throw new UnrecoverableError(reason);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private async fail(workspace: Workspace, instanceId: string, reason: string) {
    await this.terminate(instanceId);
    await this.tokens.revokeAll(workspace.id);
    const failed = await this.dataSource.transaction(async (tx) => {
      const result = await tx.update(
        Workspace,
        { id: workspace.id, status: In(LAUNCHABLE) },
        { status: WorkspaceStatus.Failed, lastError: reason },
      );
      if (!result.affected) return false;
      await this.audit.append(
        {
          chain: workspace.orgId,
          actor: 'system:provisioner',
          action: 'workspace.failed',
          target: `workspace:${workspace.id}`,
          data: { reason, instanceId },
        },
        tx,
      );
      return true;
    });
    if (failed) {
      // A code, not the reason text: that may quote what the runtime reported.
      await this.events.workspaceStatus(workspace.orgId, {
        workspaceId: workspace.id,
        status: WorkspaceStatus.Failed,
        previous: workspace.status,
        reason: 'provision_timeout',
      });
    }
  }

  /** Org-wide secrets, overridden by the workspace's own. */
  private async secretsFor(workspace: Workspace): Promise<Record<string, string>> {
    const rows = await this.dataSource.getRepository(SecretValue).find({
      where: [
        { orgId: workspace.orgId, workspaceId: IsNull() },
        { orgId: workspace.orgId, workspaceId: workspace.id },
      ],
    });
    rows.sort((a, b) => Number(a.workspaceId !== null) - Number(b.workspaceId !== null));
    const entries = await Promise.all(
      rows.map(
        async (r) =>
          [r.name, await this.cipher.decryptString(workspace.orgId, r.ciphertext)] as const,
      ),
    );
    return Object.fromEntries(entries);
  }

  /** Records the instance; `booting` only if the runtime has not already registered. */
  private async record(workspace: Workspace, instance: InstanceInfo) {
    const workspaceId = workspace.id;
    const workspaces = this.dataSource.getRepository(Workspace);
    // The control plane's own record of where the runtime listens: peers are sent here, never
    // to an address a runtime reports about itself.
    const address = instance.address ? `http://${instance.address}:${instance.port}` : null;
    await workspaces.update(
      { id: workspaceId, status: In(LAUNCHABLE) },
      { providerInstanceId: instance.instanceId, bootedAt: new Date(), address },
    );
    const booting = await workspaces.update(
      { id: workspaceId, status: WorkspaceStatus.Provisioning },
      { status: WorkspaceStatus.Booting, bootStage: 'booting' },
    );
    if (booting.affected) {
      await this.events.workspaceStatus(workspace.orgId, {
        workspaceId,
        status: WorkspaceStatus.Booting,
        previous: WorkspaceStatus.Provisioning,
      });
    }
  }

  async terminate(instanceId: string): Promise<void> {
    await terminateAndWait(this.compute, [instanceId]);
  }
}
