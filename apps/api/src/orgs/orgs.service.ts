import {
  BadRequestException,
  ConflictException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@molecule/audit';
import { actorOf, TOKEN_PREFIX, type Principal } from '@molecule/auth';
import { generateToken, hashToken, tokenDisplayPrefix } from '@molecule/crypto';
import {
  ApiKey,
  ApiKeyKind,
  OperationsRepository,
  OperationStatus,
  Org,
  OrgRole,
  OrgStatus,
  ResourceType,
  transitionOrg,
  Operation,
} from '@molecule/database';
import { JobName } from '@molecule/jobs';
import { OperationQueue } from '../operations/operation-queue';
import { randomUUID } from 'node:crypto';
import { In, Not, type DataSource, type EntityManager } from 'typeorm';
import { IdempotencyService } from '../idempotency/idempotency.service';
import type { CreateOrgDto } from './dto/create-org.dto';

export interface OrgView {
  id: string;
  slug: string;
  name: string;
  region: string | null;
  status: OrgStatus;
  createdAt: string;
  deletedAt: string | null;
}

export interface OrgCreated {
  org: OrgView;
  operation: { id: string; kind: string; status: OperationStatus };
  links: Record<string, string>;
  /** The owner's API key, shown once. */
  ownerKey: { id: string; token: string; prefix: string; role: OrgRole };
}

const DELETABLE: readonly OrgStatus[] = [
  OrgStatus.Pending,
  OrgStatus.Provisioning,
  OrgStatus.Running,
  OrgStatus.Failed,
];

export function viewOf(org: Org): OrgView {
  return {
    id: org.id,
    slug: org.slug,
    name: org.name,
    region: org.region,
    status: org.status,
    createdAt: org.createdAt.toISOString(),
    deletedAt: org.deletedAt?.toISOString() ?? null,
  };
}

function operationView(operation: Operation) {
  return { id: operation.id, kind: operation.kind, status: operation.status };
}

export function linksOf(slug: string): Record<string, string> {
  return {
    self: `/v1/orgs/${slug}`,
    provisioning: `/v1/orgs/${slug}/provisioning`,
    events: `/v1/orgs/${slug}/provisioning/events`,
    statusPage: `/orgs/${slug}/status`,
    deletion: `/v1/orgs/${slug}/deletion`,
  };
}

@Injectable()
export class OrgsService {
  private readonly operations: OperationsRepository;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly operationQueue: OperationQueue,
    private readonly audit: AuditService,
    private readonly idempotency: IdempotencyService,
  ) {
    this.operations = new OperationsRepository(dataSource);
  }

  /**
   * Writes the org, its provisioning operation, the owner key and the audit event in one
   * transaction, then enqueues. With an Idempotency-Key, a retry returns the same response.
   */
  async create(dto: CreateOrgDto, principal: Principal, rawKey?: string): Promise<OrgCreated> {
    const actor = actorOf(principal);
    const key = this.idempotency.validateKey(rawKey);
    const scope = `${actor}:POST /v1/orgs`;
    if (key) {
      const replay = await this.idempotency.find(scope, key, dto);
      if (replay) return this.replayed(replay.response, replay.secret);
    }
    let created: { response: OrgCreated; operation: Operation };
    try {
      created = await this.dataSource.transaction(async (tx) => {
        const claim = key ? await this.idempotency.claim(tx, scope, key, dto) : undefined;
        const result = await this.insertOrg(tx, dto, actor);
        if (claim) {
          const { token, ...ownerKey } = result.response.ownerKey;
          await this.idempotency.complete(tx, claim, {
            status: 202,
            response: { ...result.response, ownerKey },
            orgId: result.response.org.id,
            secret: token,
          });
        }
        return result;
      });
    } catch (error) {
      if (key && IdempotencyService.isDuplicateKey(error)) {
        const replay = await this.idempotency.find(scope, key, dto);
        if (replay) return this.replayed(replay.response, replay.secret);
      }
      throw error;
    }
    await this.operationQueue.enqueue(created.operation);
    return created.response;
  }

  async list(principal: Principal, limit: number, after?: string): Promise<OrgView[]> {
    const query = this.dataSource
      .getRepository(Org)
      .createQueryBuilder('o')
      .where('o.status <> :deleted', { deleted: OrgStatus.Deleted })
      .orderBy('o.slug', 'ASC')
      .limit(limit);
    if (principal.kind === 'partner-key') {
      query.andWhere('o.created_by = :actor', { actor: actorOf(principal) });
    }
    if (after) query.andWhere('o.slug > :after', { after });
    return (await query.getMany()).map(viewOf);
  }

  /** The live org with that slug, if the principal may see it; 404 otherwise (no existence leak). */
  async get(slug: string, principal: Principal): Promise<Org> {
    const org = await this.dataSource
      .getRepository(Org)
      .findOneBy({ slug, status: Not(OrgStatus.Deleted) });
    if (!org || !this.canSee(org, principal)) throw new NotFoundException(`No org ${slug}`);
    return org;
  }

  /**
   * Type-to-confirm deletion. Marks the org `deleting` first (so nothing can bring it back),
   * supersedes an unfinished provisioning, and enqueues the cascade. Repeating it is safe.
   */
  async delete(slug: string, confirm: string, principal: Principal) {
    if (confirm !== slug) {
      throw new BadRequestException({
        code: 'confirmation_mismatch',
        message: 'confirm must equal the org slug',
      });
    }
    const found = await this.latestBySlug(slug, principal);
    if (found.status === OrgStatus.Deleting || found.status === OrgStatus.Deleted) {
      const existing = await this.operations.latest(found.id, JobName.OrgDelete);
      if (existing && existing.status !== OperationStatus.Failed)
        return this.deletionAccepted(found, existing);
    }
    const operation = await this.dataSource.transaction(async (tx) => {
      if (found.status !== OrgStatus.Deleting) {
        await transitionOrg(tx, found.id, DELETABLE, OrgStatus.Deleting).catch(() => {
          throw new ConflictException('The org changed state; retry');
        });
      }
      // Deletion wins over provisioning: the provisioner sees `deleting` and stops.
      await tx.update(
        Operation,
        { resourceId: found.id, status: In([OperationStatus.Queued, OperationStatus.Running]) },
        { status: OperationStatus.Failed, error: 'superseded by deletion', finishedAt: new Date() },
      );
      const op = await this.operations.create(tx, {
        resourceType: ResourceType.Org,
        resourceId: found.id,
        orgId: found.id,
        kind: JobName.OrgDelete,
        idempotencyKey: randomUUID(),
      });
      await this.audit.append(
        {
          chain: found.id,
          actor: actorOf(principal),
          action: 'org.delete.requested',
          target: `org:${found.id}`,
          data: { slug, operationId: op.id },
        },
        tx,
      );
      return op;
    });
    await this.operationQueue.enqueue(operation);
    return this.deletionAccepted({ ...found, status: OrgStatus.Deleting }, operation);
  }

  /**
   * Provisions a `failed` org again under a new operation; the provisioner resumes from what the
   * failed attempt left (each step is idempotent). Repeating the call while that operation is
   * unfinished returns it; an org in any other state gets 409.
   */
  async retry(slug: string, principal: Principal) {
    const org = await this.get(slug, principal);
    const unfinished = await this.operations.latest(org.id, JobName.OrgProvision);
    if (
      (org.status === OrgStatus.Pending || org.status === OrgStatus.Provisioning) &&
      unfinished &&
      (unfinished.status === OperationStatus.Queued ||
        unfinished.status === OperationStatus.Running)
    ) {
      return { org: viewOf(org), operation: operationView(unfinished) };
    }
    if (org.status !== OrgStatus.Failed) {
      throw new ConflictException(`The org is ${org.status}; only a failed org can be retried`);
    }
    const operation = await this.dataSource.transaction(async (tx) => {
      await transitionOrg(tx, org.id, [OrgStatus.Failed], OrgStatus.Pending).catch(() => {
        throw new ConflictException('The org changed state; retry');
      });
      const op = await this.operations.create(tx, {
        resourceType: ResourceType.Org,
        resourceId: org.id,
        orgId: org.id,
        kind: JobName.OrgProvision,
        idempotencyKey: randomUUID(),
      });
      await this.audit.append(
        {
          chain: org.id,
          actor: actorOf(principal),
          action: 'org.provision.retried',
          target: `org:${org.id}`,
          data: { operationId: op.id, previous: unfinished?.id ?? null },
        },
        tx,
      );
      return op;
    });
    await this.operationQueue.enqueue(operation);
    return {
      org: viewOf({ ...org, status: OrgStatus.Pending }),
      operation: operationView(operation),
    };
  }

  /** The latest org that had this slug, deleted or not (receipts outlive orgs). */
  async latestBySlug(slug: string, principal: Principal): Promise<Org> {
    const org = await this.dataSource
      .getRepository(Org)
      .createQueryBuilder('o')
      .where('o.slug = :slug', { slug })
      .orderBy('o.created_at', 'DESC')
      .getOne();
    if (!org || !this.canSee(org, principal)) throw new NotFoundException(`No org ${slug}`);
    return org;
  }

  private canSee(org: Org, principal: Principal): boolean {
    switch (principal.kind) {
      case 'platform-admin':
        return true;
      case 'partner-key':
        return org.createdBy === actorOf(principal);
      case 'org-key':
      case 'workspace-token':
      case 'workspace-bootstrap':
        return org.id === principal.orgId;
    }
  }

  private deletionAccepted(org: Org, operation: Operation) {
    return {
      org: viewOf(org),
      operation: { id: operation.id, kind: operation.kind, status: operation.status },
      links: linksOf(org.slug),
    };
  }

  private async insertOrg(tx: EntityManager, dto: CreateOrgDto, actor: string) {
    let org: Org;
    try {
      org = await tx.save(Org, {
        slug: dto.slug,
        name: dto.name,
        region: dto.region ?? null,
        status: OrgStatus.Pending,
        createdBy: actor,
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw new ConflictException({
          code: 'slug_taken',
          message: `The slug ${dto.slug} is taken`,
        });
      }
      throw error;
    }
    const operation = await this.operations.create(tx, {
      resourceType: ResourceType.Org,
      resourceId: org.id,
      orgId: org.id,
      kind: JobName.OrgProvision,
      idempotencyKey: randomUUID(),
    });
    const token = generateToken(TOKEN_PREFIX.orgKey);
    const ownerKey = await tx.save(ApiKey, {
      kind: ApiKeyKind.Org,
      orgId: org.id,
      role: OrgRole.Owner,
      scopes: [],
      name: 'owner',
      tokenHash: hashToken(token),
      displayPrefix: tokenDisplayPrefix(token),
    });
    await this.audit.append(
      {
        chain: org.id,
        actor,
        action: 'org.create',
        target: `org:${org.id}`,
        data: {
          slug: org.slug,
          region: org.region,
          operationId: operation.id,
          ownerKeyId: ownerKey.id,
        },
      },
      tx,
    );
    const response: OrgCreated = {
      org: viewOf(org),
      operation: { id: operation.id, kind: operation.kind, status: operation.status },
      links: linksOf(org.slug),
      ownerKey: { id: ownerKey.id, token, prefix: ownerKey.displayPrefix, role: OrgRole.Owner },
    };
    return { response, operation };
  }

  private replayed(response: Record<string, unknown>, secret?: string): OrgCreated {
    const stored = response as unknown as OrgCreated;
    return { ...stored, ownerKey: { ...stored.ownerKey, token: secret ?? '' } };
  }
}
