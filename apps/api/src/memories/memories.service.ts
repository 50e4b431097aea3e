import {
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@molecule/audit';
import { actorOf, roleSatisfies, type Principal } from '@molecule/auth';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import {
  ApprovalState,
  Memory,
  MemoryScope,
  Org,
  type MemoryScope as Scope,
  lockOpenOrg,
  nextCursor,
  olderThan,
} from '@molecule/database';
import { OrgEvents } from '@molecule/events';
import {
  DEFAULT_NAMESPACE,
  authorOf,
  memoryDeleted,
  memoryWritten,
  prepareMemoryContent,
  wrapMemory,
} from '@molecule/memory';
import type { DataSource, FindOptionsWhere } from 'typeorm';
import type { ListOrgMemoriesQuery, WriteOrgMemoryDto } from './memory.dto';

const DEFAULT_LIMIT = 50;

type Decision = typeof ApprovalState.Approved | typeof ApprovalState.Rejected;

/** A memory as org admins see it: the wrapped content agents get, and the stored text. */
export interface OrgMemoryItem {
  id: string;
  scope: Scope;
  namespace: string;
  /** The author workspace's id, or `org-admin`. */
  from: string;
  authorWorkspaceId: string | null;
  approvalState: ApprovalState;
  decidedBy: string | null;
  decidedAt: string | null;
  contentHash: string;
  createdAt: string;
  /** `[MEMORY id=… scope=… from=…]: <text>`, as workspaces receive it. */
  content: string;
  /** The stored text: trimmed, redacted, delimiters escaped. */
  text: string;
}

export function orgMemoryItem(row: Memory): OrgMemoryItem {
  return {
    id: row.id,
    scope: row.scope,
    namespace: row.namespace,
    from: authorOf(row.authorWorkspaceId),
    authorWorkspaceId: row.authorWorkspaceId,
    approvalState: row.approvalState,
    decidedBy: row.decidedBy,
    decidedAt: row.decidedAt?.toISOString() ?? null,
    contentHash: row.contentHash,
    createdAt: row.createdAt.toISOString(),
    content: wrapMemory(
      {
        id: row.id,
        scope: row.scope,
        authorWorkspaceId: row.authorWorkspaceId,
        pending: row.approvalState === ApprovalState.Pending,
      },
      row.content,
    ),
    text: row.content,
  };
}

function isAdmin(principal: Principal): boolean {
  return (
    principal.kind === 'platform-admin' ||
    (principal.kind === 'org-key' && roleSatisfies(principal.role, 'admin'))
  );
}

/**
 * Org admins' side of agent memory (SPEC §4.6): they write GLOBAL memories directly, and decide
 * the GLOBAL proposals of workspaces. Members read the org's approved GLOBAL memories only.
 */
@Injectable()
export class MemoriesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly events: OrgEvents,
  ) {}

  async write(org: Org, dto: WriteOrgMemoryDto, principal: Principal) {
    const prepared = prepareMemoryContent(dto.content, this.config.memory.maxBytes);
    const actor = actorOf(principal);
    const row = await this.dataSource.transaction(async (tx) => {
      await lockOpenOrg(tx, org.id);
      const saved = await tx.save(Memory, {
        orgId: org.id,
        authorWorkspaceId: null,
        scope: MemoryScope.Global,
        namespace: dto.namespace ?? DEFAULT_NAMESPACE,
        content: prepared.content,
        contentHash: prepared.contentHash,
        provenance: { source: 'org-admin', actor, redactions: prepared.redactions },
        approvalState: ApprovalState.Approved,
        decidedBy: actor,
        decidedAt: new Date(),
      });
      await this.audit.append({ chain: org.id, actor, ...memoryWritten(saved, prepared) }, tx);
      return saved;
    });
    // A GLOBAL memory is in effect from now on, as after an approval.
    await this.events.publish(org.id, 'memory.approved', {
      memoryId: row.id,
      scope: row.scope,
    });
    return { memory: orgMemoryItem(row), redactions: prepared.redactions };
  }

  /** Newest first. Admins filter freely; others get approved GLOBAL memories only. */
  async list(org: Org, query: ListOrgMemoriesQuery, principal: Principal) {
    const where: FindOptionsWhere<Memory> = { orgId: org.id };
    if (!isAdmin(principal)) {
      const asked = (query.scope ?? MemoryScope.Global) !== MemoryScope.Global;
      if (asked || (query.state ?? ApprovalState.Approved) !== ApprovalState.Approved) {
        throw new ForbiddenException('Only org admins read memories other than approved GLOBAL');
      }
      where.scope = MemoryScope.Global;
      where.approvalState = ApprovalState.Approved;
    }
    if (query.scope) where.scope = query.scope;
    if (query.state) where.approvalState = query.state;
    if (query.namespace) where.namespace = query.namespace;
    if (query.workspaceId) where.authorWorkspaceId = query.workspaceId;
    const page = query.limit ?? DEFAULT_LIMIT;
    const select = this.dataSource
      .getRepository(Memory)
      .createQueryBuilder('m')
      .where(where)
      .orderBy('m.created_at', 'DESC')
      .addOrderBy('m.id', 'DESC')
      .limit(page);
    if (query.before !== undefined) olderThan(select, query.before, org.id);
    const rows = await select.getMany();
    return { memories: rows.map(orgMemoryItem), next: nextCursor(rows, page) };
  }

  /**
   * Approves or rejects a pending GLOBAL proposal: a conditional update, so of two admins
   * deciding at once one wins and the other gets 409.
   */
  async decide(org: Org, id: string, decision: Decision, principal: Principal) {
    const actor = actorOf(principal);
    const row = await this.dataSource.transaction(async (tx) => {
      const result = await tx
        .createQueryBuilder()
        .update(Memory)
        .set({ approvalState: decision, decidedBy: actor, decidedAt: () => 'now()' })
        .where('id = :id AND org_id = :orgId AND approval_state = :pending', {
          id,
          orgId: org.id,
          pending: ApprovalState.Pending,
        })
        .execute();
      const current = await tx.findOneBy(Memory, { id, orgId: org.id });
      if (!current) throw new NotFoundException('No such memory in this org');
      if (!result.affected) {
        throw new ConflictException(`The memory is ${current.approvalState}, not pending`);
      }
      await this.audit.append(
        {
          chain: org.id,
          actor,
          action: decision === ApprovalState.Approved ? 'memory.approved' : 'memory.rejected',
          target: `memory:${current.id}`,
          data: {
            memoryId: current.id,
            scope: current.scope,
            authorWorkspaceId: current.authorWorkspaceId,
            contentHash: current.contentHash,
          },
        },
        tx,
      );
      return current;
    });
    await this.events.publish(
      org.id,
      decision === ApprovalState.Approved ? 'memory.approved' : 'memory.rejected',
      { memoryId: row.id, workspaceId: row.authorWorkspaceId ?? undefined, scope: row.scope },
    );
    return { memory: orgMemoryItem(row) };
  }

  async remove(org: Org, id: string, principal: Principal): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const row = await tx.findOne(Memory, {
        where: { id, orgId: org.id },
        lock: { mode: 'pessimistic_write' },
      });
      if (!row) throw new NotFoundException('No such memory in this org');
      await tx.delete(Memory, { id: row.id });
      await this.audit.append(
        { chain: org.id, actor: actorOf(principal), ...memoryDeleted(row) },
        tx,
      );
    });
  }
}
