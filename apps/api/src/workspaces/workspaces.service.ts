import {
  BadRequestException,
  ConflictException,
  Injectable,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { loadOrgChart } from '@molecule/access';
import { AuditService } from '@molecule/audit';
import { actorOf, WorkspaceTokens, type Principal } from '@molecule/auth';
import { EnvelopeCipher } from '@molecule/crypto';
import { OrgEvents } from '@molecule/events';
import {
  Operation,
  OperationsRepository,
  OperationStatus,
  OrgStatus,
  ResourceType,
  Workspace,
  WorkspaceStatus,
  type Org,
} from '@molecule/database';
import { OperationQueue } from '../operations/operation-queue';
import { JobName } from '@molecule/jobs';
import { RuntimeCatalog } from '@molecule/runtimes';
import { randomUUID } from 'node:crypto';
import { In, Not, type DataSource, type EntityManager } from 'typeorm';
import { assertSecretName, assertSecretValue, SecretsService } from '../secrets/secrets.service';
import type { CreateWorkspaceDto, UpdateWorkspaceDto } from './workspace.dto';

export function workspaceView(w: Workspace) {
  return {
    id: w.id,
    name: w.name,
    runtime: w.runtime,
    template: w.template,
    tier: w.tier,
    parentId: w.parentId,
    status: w.status,
    agentCard: w.agentCard,
    lastHeartbeatAt: w.lastHeartbeatAt?.toISOString() ?? null,
    bootStage: w.bootStage,
    lastError: w.lastError,
    createdAt: w.createdAt.toISOString(),
    onlineAt: w.onlineAt?.toISOString() ?? null,
    budgetCents: w.budgetCents === null ? null : Number(w.budgetCents),
    spentCents: Number(w.spentCents),
  };
}

const GONE: readonly WorkspaceStatus[] = [WorkspaceStatus.Deleting, WorkspaceStatus.Deleted];

@Injectable()
export class WorkspacesService {
  private readonly operations: OperationsRepository;
  private readonly tokens: WorkspaceTokens;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly operationQueue: OperationQueue,
    private readonly catalog: RuntimeCatalog,
    private readonly secrets: SecretsService,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditService,
    private readonly events: OrgEvents,
  ) {
    this.operations = new OperationsRepository(dataSource);
    this.tokens = new WorkspaceTokens(dataSource);
  }

  /** Preflight first (runtime, parent, required keys): a bad deploy queues nothing. */
  async create(org: Org, dto: CreateWorkspaceDto, principal: Principal) {
    if (org.status !== OrgStatus.Running)
      throw new ConflictException(`The org is ${org.status}, not running`);
    const runtime = this.catalog.get(dto.runtime);
    if (!runtime)
      throw new UnprocessableEntityException({
        code: 'unknown_runtime',
        message: `No runtime ${dto.runtime}; see GET /v1/runtimes`,
      });
    const own = dto.secrets ?? {};
    for (const [name, value] of Object.entries(own)) {
      assertSecretName(name);
      if (typeof value !== 'string')
        throw new BadRequestException(`secrets.${name} must be a string`);
      assertSecretValue(name, value);
    }
    if (dto.parentId) {
      const parent = await this.get(org, dto.parentId);
      if (GONE.includes(parent.status))
        throw new UnprocessableEntityException(`parentId ${dto.parentId} is being deleted`);
    }
    const missing = this.catalog.missingKeys(runtime, [
      ...(await this.secrets.namesFor(org.id)),
      ...Object.keys(own),
    ]);
    if (missing.length > 0) {
      throw new UnprocessableEntityException({
        code: 'missing_required_keys',
        message: `The ${runtime.id} runtime needs: ${missing.join(', ')}`,
        details: { missing },
      });
    }
    const encrypted = await Promise.all(
      Object.entries(own).map(
        async ([name, value]) => [name, await this.cipher.encrypt(org.id, value)] as const,
      ),
    );
    const { workspace, operation } = await this.dataSource.transaction(async (tx) => {
      const workspace = await tx.save(Workspace, {
        orgId: org.id,
        parentId: dto.parentId ?? null,
        name: dto.name,
        runtime: runtime.id,
        template: dto.template ?? null,
        tier: dto.tier ?? 'standard',
        status: WorkspaceStatus.Pending,
      });
      for (const [name, ciphertext] of encrypted)
        await this.secrets.write(tx, org.id, workspace.id, name, ciphertext);
      const operation = await this.operations.create(tx, {
        resourceType: ResourceType.Workspace,
        resourceId: workspace.id,
        orgId: org.id,
        kind: JobName.WorkspaceProvision,
        idempotencyKey: randomUUID(),
      });
      await this.audit.append(
        {
          chain: org.id,
          actor: actorOf(principal),
          action: 'workspace.create',
          target: `workspace:${workspace.id}`,
          data: {
            runtime: runtime.id,
            parentId: workspace.parentId,
            operationId: operation.id,
            secrets: Object.keys(own),
          },
        },
        tx,
      );
      return { workspace, operation };
    });
    await this.events.workspaceStatus(org.id, {
      workspaceId: workspace.id,
      status: WorkspaceStatus.Pending,
    });
    await this.operationQueue.enqueue(operation);
    return {
      workspace: workspaceView(workspace),
      operation: { id: operation.id, kind: operation.kind, status: operation.status },
    };
  }

  async list(org: Org) {
    const rows = await this.dataSource.getRepository(Workspace).find({
      where: { orgId: org.id, status: Not(WorkspaceStatus.Deleted) },
      order: { createdAt: 'ASC' },
    });
    return { workspaces: rows.map(workspaceView) };
  }

  async get(org: Org, id: string): Promise<Workspace> {
    const workspace = await this.dataSource
      .getRepository(Workspace)
      .findOneBy({ id, orgId: org.id, status: Not(WorkspaceStatus.Deleted) });
    if (!workspace) throw new NotFoundException('No such workspace');
    return workspace;
  }

  /**
   * Moves a workspace in the hierarchy and/or sets its budget. Changes to one org's chart are
   * serialised (advisory lock), so two concurrent moves can never build a cycle between them.
   */
  async update(org: Org, id: string, dto: UpdateWorkspaceDto, principal: Principal) {
    if (dto.parentId === undefined && dto.budgetCents === undefined) {
      throw new BadRequestException('Nothing to change: send parentId and/or budgetCents');
    }
    const updated = await this.dataSource.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`org-chart:${org.id}`]);
      const workspace = await tx.findOneBy(Workspace, { id, orgId: org.id });
      if (!workspace || workspace.status === WorkspaceStatus.Deleted)
        throw new NotFoundException('No such workspace');
      if (GONE.includes(workspace.status))
        throw new ConflictException('The workspace is being deleted');
      const changes: Pick<Partial<Workspace>, 'parentId' | 'budgetCents'> = {};
      if (dto.parentId !== undefined && dto.parentId !== workspace.parentId) {
        if (dto.parentId !== null) {
          const parent = await tx.findOneBy(Workspace, { id: dto.parentId, orgId: org.id });
          if (!parent || GONE.includes(parent.status))
            throw new UnprocessableEntityException(
              `parentId ${dto.parentId} is not a live workspace of this org`,
            );
          if ((await loadOrgChart(tx, org.id)).wouldCycle(id, dto.parentId))
            throw new UnprocessableEntityException(
              'parentId would put the workspace under itself or one of its descendants',
            );
        }
        changes.parentId = dto.parentId;
        await this.audit.append(
          {
            chain: org.id,
            actor: actorOf(principal),
            action: 'workspace.reparented',
            target: `workspace:${id}`,
            data: { from: workspace.parentId, to: dto.parentId },
          },
          tx,
        );
      }
      if (dto.budgetCents !== undefined) {
        const budget = dto.budgetCents === null ? null : String(dto.budgetCents);
        if (budget !== workspace.budgetCents) {
          changes.budgetCents = budget;
          await this.audit.append(
            {
              chain: org.id,
              actor: actorOf(principal),
              action: 'workspace.budget-set',
              target: `workspace:${id}`,
              data: { from: workspace.budgetCents, to: budget },
            },
            tx,
          );
        }
      }
      if (Object.keys(changes).length > 0) await tx.update(Workspace, { id }, changes);
      return { ...workspace, ...changes };
    });
    return { workspace: workspaceView(updated) };
  }

  /**
   * Marks the workspace `deleting` and revokes its tokens at once — a late heartbeat or a
   * re-registration can no longer bring it back — then queues the teardown. Safe to repeat.
   */
  async delete(org: Org, id: string, principal: Principal) {
    const workspace = await this.get(org, id);
    if (workspace.status === WorkspaceStatus.Deleting) {
      const existing = await this.operations.latest(id, JobName.WorkspaceDelete);
      if (existing)
        return {
          workspace: workspaceView(workspace),
          operation: { id: existing.id, status: existing.status },
        };
    }
    const operation = await this.dataSource.transaction(async (tx) => {
      const marked = await tx.update(
        Workspace,
        { id, status: Not(In(GONE)) },
        { status: WorkspaceStatus.Deleting },
      );
      if (!marked.affected) throw new ConflictException('The workspace changed state; retry');
      await this.tokens.revokeAll(id, tx);
      await this.supersede(tx, id);
      const op = await this.operations.create(tx, {
        resourceType: ResourceType.Workspace,
        resourceId: id,
        orgId: org.id,
        kind: JobName.WorkspaceDelete,
        idempotencyKey: randomUUID(),
      });
      await this.audit.append(
        {
          chain: org.id,
          actor: actorOf(principal),
          action: 'workspace.delete.requested',
          target: `workspace:${id}`,
          data: { operationId: op.id },
        },
        tx,
      );
      return op;
    });
    await this.events.workspaceStatus(org.id, {
      workspaceId: id,
      status: WorkspaceStatus.Deleting,
      previous: workspace.status,
    });
    await this.operationQueue.enqueue(operation);
    return {
      workspace: { ...workspaceView(workspace), status: WorkspaceStatus.Deleting },
      operation: { id: operation.id, status: operation.status },
    };
  }

  /** Re-provisions on a fresh instance with fresh tokens. */
  async restart(org: Org, id: string, principal: Principal) {
    const workspace = await this.get(org, id);
    if (GONE.includes(workspace.status))
      throw new ConflictException('The workspace is being deleted');
    const operation = await this.dataSource.transaction(async (tx) => {
      await this.supersede(tx, id);
      const op = await this.operations.create(tx, {
        resourceType: ResourceType.Workspace,
        resourceId: id,
        orgId: org.id,
        kind: JobName.WorkspaceRestart,
        idempotencyKey: randomUUID(),
      });
      await this.audit.append(
        {
          chain: org.id,
          actor: actorOf(principal),
          action: 'workspace.restart.requested',
          target: `workspace:${id}`,
          data: { operationId: op.id },
        },
        tx,
      );
      return op;
    });
    await this.operationQueue.enqueue(operation);
    return {
      workspace: workspaceView(workspace),
      operation: { id: operation.id, status: operation.status },
    };
  }

  private async supersede(tx: EntityManager, resourceId: string) {
    await tx.update(
      Operation,
      { resourceId, status: In([OperationStatus.Queued, OperationStatus.Running]) },
      { status: OperationStatus.Failed, error: 'superseded', finishedAt: new Date() },
    );
  }
}
