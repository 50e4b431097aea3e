import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@molecule/audit';
import { COMPUTE_DRIVER, type ComputeDriver, type InstanceInfo } from '@molecule/compute';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { EnvelopeCipher, generateToken } from '@molecule/crypto';
import { InstanceStatus, Org, OrgStatus, TenantInstance, transitionOrg } from '@molecule/database';
import type { OrgJob } from '@molecule/jobs';
import { ROUTE_PUBLISHERS, type RoutePublisher } from '@molecule/routes';
import { UnrecoverableError } from 'bullmq';
import { In, Not, type DataSource } from 'typeorm';
import { OperationRunner } from '../operations/operation-runner';

/** The port the tenant host serves on (inside its container on EC2; the local driver picks its own). */
const TENANT_PORT = 8080;
const POLL_MS = 250;

const PROVISIONABLE: readonly OrgStatus[] = [
  OrgStatus.Pending,
  OrgStatus.Provisioning,
  OrgStatus.Failed,
];

/**
 * `org.provision`: credential first (stored encrypted before anything could use it), then the
 * host, then its health, then the route, then `running`. Every step is idempotent.
 */
@Injectable()
export class OrgProvisioner {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(COMPUTE_DRIVER) private readonly compute: ComputeDriver,
    @Inject(ROUTE_PUBLISHERS) private readonly routes: RoutePublisher,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cipher: EnvelopeCipher,
    private readonly runner: OperationRunner,
    private readonly audit: AuditService,
  ) {}

  async provision({ operationId, orgId }: OrgJob): Promise<void> {
    const org = await this.begin(orgId);
    const step = <T extends Record<string, unknown> | void>(name: string, work: () => Promise<T>) =>
      this.runner.step(operationId, name, async () => {
        await this.stillWanted(orgId);
        return work();
      });

    const { tenantInstanceId } = await step('generate-credential', () => this.credential(org));
    const { instanceId } = await step('launch-host', () =>
      this.launch(org, operationId, tenantInstanceId),
    );
    const running = await step('wait-running', () =>
      this.waitRunning(tenantInstanceId, instanceId),
    );
    await step('wait-healthy', () => this.waitHealthy(running.address, running.port));
    await step('publish-route', () => this.publishRoute(org, tenantInstanceId));
    await step('mark-running', () => this.markRunning(org, operationId, tenantInstanceId));
  }

  private async begin(orgId: string): Promise<Org> {
    const org = await this.dataSource.getRepository(Org).findOneBy({ id: orgId });
    if (!org) throw new UnrecoverableError(`org ${orgId} does not exist`);
    if (org.status === OrgStatus.Running) return org;
    if (!PROVISIONABLE.includes(org.status)) throw new UnrecoverableError(`org is ${org.status}`);
    if (org.status !== OrgStatus.Provisioning) {
      await transitionOrg(this.dataSource.manager, orgId, PROVISIONABLE, OrgStatus.Provisioning);
    }
    return { ...org, status: OrgStatus.Provisioning };
  }

  /** Deletion supersedes provisioning: stop at the next step boundary. */
  private async stillWanted(orgId: string): Promise<void> {
    const org = await this.dataSource.getRepository(Org).findOneBy({ id: orgId });
    if (!org || org.status === OrgStatus.Deleting || org.status === OrgStatus.Deleted) {
      throw new UnrecoverableError('org is being deleted');
    }
  }

  private async credential(org: Org): Promise<{ tenantInstanceId: string }> {
    const instances = this.dataSource.getRepository(TenantInstance);
    const existing = await instances.findOne({
      where: { orgId: org.id, status: Not(In([InstanceStatus.Terminated, InstanceStatus.Failed])) },
      order: { createdAt: 'DESC' },
    });
    if (existing?.adminTokenCiphertext) return { tenantInstanceId: existing.id };
    const ciphertext = await this.cipher.encrypt(org.id, generateToken('mol_tenant'));
    const row = await instances.save({
      orgId: org.id,
      provider: this.compute.provider,
      region: org.region,
      status: InstanceStatus.Pending,
      image: this.config.tenantImage,
      adminTokenCiphertext: ciphertext,
    });
    return { tenantInstanceId: row.id };
  }

  private async launch(
    org: Org,
    operationId: string,
    tenantInstanceId: string,
  ): Promise<{ instanceId: string }> {
    const row = await this.dataSource
      .getRepository(TenantInstance)
      .findOneByOrFail({ id: tenantInstanceId });
    const token = await this.cipher.decryptString(org.id, row.adminTokenCiphertext!);
    const instance = await this.compute.launch({
      operationId,
      tier: 'standard',
      region: org.region ?? undefined,
      tags: {
        'molecule:managed': 'true',
        'molecule:org': org.id,
        'molecule:resource-type': 'org',
        'molecule:resource': org.id,
        'molecule:operation': operationId,
      },
      boot: {
        role: 'tenant',
        launchId: operationId,
        config: { orgId: org.id, orgSlug: org.slug, orgName: org.name },
        secrets: { TENANT_ADMIN_TOKEN: token },
        port: TENANT_PORT,
        healthPath: '/health',
        image: this.config.tenantImage,
      },
    });
    // Recorded before any wait, so a crash from here on can never lose track of the instance.
    await this.record(tenantInstanceId, instance, InstanceStatus.Launching);
    // A retry of a failed provisioning launches afresh; the failed attempt's host goes. Should
    // this be lost to a crash, the orphan sweeper ends it: the row no longer records it.
    if (row.providerInstanceId && row.providerInstanceId !== instance.instanceId) {
      await this.compute.terminate(row.providerInstanceId);
    }
    return { instanceId: instance.instanceId };
  }

  private async waitRunning(tenantInstanceId: string, instanceId: string) {
    const deadline = Date.now() + this.config.reconcile.tenantHealthTimeoutSeconds * 1000;
    for (;;) {
      const instance = await this.compute.describe(instanceId);
      if (!instance || instance.state === 'terminated' || instance.state === 'stopped') {
        throw new Error(`instance ${instanceId} is ${instance?.state ?? 'gone'}`);
      }
      if (instance.state === 'running' && instance.address) {
        await this.record(tenantInstanceId, instance, InstanceStatus.Running);
        return { address: instance.address, port: instance.port };
      }
      if (Date.now() > deadline) throw new Error(`instance ${instanceId} did not start in time`);
      await sleep(POLL_MS);
    }
  }

  /** Straight to the host, not through the edge: the route does not exist yet. */
  private async waitHealthy(address: string, port: number): Promise<{ healthyAfterMs: number }> {
    const started = Date.now();
    const deadline = started + this.config.reconcile.tenantHealthTimeoutSeconds * 1000;
    for (;;) {
      try {
        const response = await fetch(`http://${address}:${port}/health`, {
          signal: AbortSignal.timeout(2_000),
        });
        if (response.ok) return { healthyAfterMs: Date.now() - started };
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error('the tenant host did not become healthy in time');
      await sleep(POLL_MS);
    }
  }

  private async publishRoute(org: Org, tenantInstanceId: string): Promise<{ generation: number }> {
    const instances = this.dataSource.getRepository(TenantInstance);
    const row = await instances.findOneByOrFail({ id: tenantInstanceId });
    // Generations only grow per slug, across every org that ever held it (tenant rows outlive
    // their orgs), so a late write for a deleted org can never overwrite the slug's new owner.
    const [{ highest }] = await this.dataSource.query<{ highest: number | null }[]>(
      `SELECT max(t.route_generation) AS highest
         FROM tenant_instances t JOIN orgs o ON o.id = t.org_id
        WHERE o.slug = $1 AND t.id <> $2`,
      [org.slug, tenantInstanceId],
    );
    const generation = row.routeGeneration || (highest ?? 0) + 1;
    await instances.update({ id: tenantInstanceId }, { routeGeneration: generation });
    await this.routes.publish({
      slug: org.slug,
      orgId: org.id,
      status: 'running',
      address: row.privateAddress!,
      port: row.port!,
      protocol: 'http',
      generation,
      credential: row.adminTokenCiphertext!,
      updatedAt: new Date().toISOString(),
    });
    return { generation };
  }

  private async markRunning(
    org: Org,
    operationId: string,
    tenantInstanceId: string,
  ): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const current = await tx.findOneByOrFail(Org, { id: org.id });
      if (current.status === OrgStatus.Running) return; // an earlier attempt got here
      await transitionOrg(tx, org.id, [OrgStatus.Provisioning], OrgStatus.Running);
      await this.runner.operations.succeedWithin(tx, operationId, 'mark-running');
      await this.audit.append(
        {
          chain: org.id,
          actor: 'system:provisioner',
          action: 'org.provisioned',
          target: `org:${org.id}`,
          data: { operationId, tenantInstanceId },
        },
        tx,
      );
    });
  }

  private async record(tenantInstanceId: string, instance: InstanceInfo, status: InstanceStatus) {
    await this.dataSource.getRepository(TenantInstance).update(
      { id: tenantInstanceId },
      {
        providerInstanceId: instance.instanceId,
        privateAddress: instance.address ?? null,
        publicAddress: instance.publicAddress ?? null,
        port: instance.port,
        status,
      },
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
