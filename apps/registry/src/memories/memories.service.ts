import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { loadOrgChart } from '@molecule/access';
import { AuditService } from '@molecule/audit';
import { actorOf, type Principal } from '@molecule/auth';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import {
  ApprovalState,
  Memory,
  MemoryScope,
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
import { Brackets, type DataSource } from 'typeorm';
import type { ListMemoriesQuery, WriteMemoryDto } from './memory.dto';

export type WorkspacePrincipal = Extract<Principal, { kind: 'workspace-token' }>;

const DEFAULT_LIMIT = 50;

/** A memory as a workspace receives it: the content only inside its provenance delimiter. */
export interface MemoryItem {
  id: string;
  scope: Scope;
  namespace: string;
  /** The author workspace's id, or `org-admin`. */
  from: string;
  approvalState: ApprovalState;
  contentHash: string;
  createdAt: string;
  /** `[MEMORY id=… scope=… from=…]: <content>` */
  content: string;
}

export function memoryItem(row: Memory): MemoryItem {
  return {
    id: row.id,
    scope: row.scope,
    namespace: row.namespace,
    from: authorOf(row.authorWorkspaceId),
    approvalState: row.approvalState,
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
  };
}

/**
 * Workspace memory (SPEC §4.6). The caller is the workspace its session token belongs to.
 * LOCAL rows are the author's alone; TEAM rows reach the workspaces the org chart lets the
 * author talk to; GLOBAL writes are proposals that only an org admin can make visible.
 */
@Injectable()
export class MemoriesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly events: OrgEvents,
  ) {}

  async write(principal: WorkspacePrincipal, dto: WriteMemoryDto) {
    const prepared = prepareMemoryContent(dto.content, this.config.memory.maxBytes);
    const proposal = dto.scope === MemoryScope.Global;
    const row = await this.dataSource.transaction(async (tx) => {
      await lockOpenOrg(tx, principal.orgId);
      const saved = await tx.save(Memory, {
        orgId: principal.orgId,
        authorWorkspaceId: principal.workspaceId,
        scope: dto.scope,
        namespace: dto.namespace ?? DEFAULT_NAMESPACE,
        content: prepared.content,
        contentHash: prepared.contentHash,
        provenance: {
          source: 'workspace',
          actor: actorOf(principal),
          redactions: prepared.redactions,
        },
        approvalState: proposal ? ApprovalState.Pending : ApprovalState.NotRequired,
      });
      await this.audit.append(
        {
          chain: principal.orgId,
          actor: actorOf(principal),
          ...memoryWritten(saved, prepared, proposal),
        },
        tx,
      );
      return saved;
    });
    if (proposal) {
      await this.events.publish(principal.orgId, 'memory.proposed', {
        memoryId: row.id,
        workspaceId: principal.workspaceId,
        scope: row.scope,
      });
    }
    return { memory: memoryItem(row), redactions: prepared.redactions };
  }

  /**
   * What the caller may read, newest first: its own LOCAL rows; TEAM rows of every workspace
   * it may reach (itself included; a deleted author's are excluded); the org's approved GLOBAL
   * rows, plus its own pending proposals marked `state=pending`.
   */
  async list(principal: WorkspacePrincipal, query: ListMemoriesQuery) {
    const me = principal.workspaceId;
    const page = query.limit ?? DEFAULT_LIMIT;
    const wants = (scope: Scope) => query.scope === undefined || query.scope === scope;
    const chart = await loadOrgChart(this.dataSource, principal.orgId);
    const team = Array.from(chart.nodes(), (node) => node.id).filter((id) =>
      chart.canCommunicate(me, id),
    );
    const select = this.dataSource
      .getRepository(Memory)
      .createQueryBuilder('m')
      .where('m.org_id = :orgId', { orgId: principal.orgId })
      .andWhere(
        new Brackets((any) => {
          // Always one condition, so an empty choice matches nothing instead of everything.
          any.where('false');
          if (wants(MemoryScope.Local)) {
            any.orWhere('(m.scope = :local AND m.author_workspace_id = :me)', {
              local: MemoryScope.Local,
              me,
            });
          }
          if (wants(MemoryScope.Team) && team.length > 0) {
            any.orWhere('(m.scope = :team AND m.author_workspace_id IN (:...reachable))', {
              team: MemoryScope.Team,
              reachable: team,
            });
          }
          if (wants(MemoryScope.Global)) {
            any.orWhere(
              '(m.scope = :global AND (m.approval_state = :approved OR (m.approval_state = :pending AND m.author_workspace_id = :me)))',
              {
                global: MemoryScope.Global,
                approved: ApprovalState.Approved,
                pending: ApprovalState.Pending,
                me,
              },
            );
          }
        }),
      )
      .orderBy('m.created_at', 'DESC')
      .addOrderBy('m.id', 'DESC')
      .limit(page);
    if (query.namespace !== undefined) {
      select.andWhere('m.namespace = :namespace', { namespace: query.namespace });
    }
    if (query.before !== undefined) olderThan(select, query.before, principal.orgId);
    const rows = await select.getMany();
    return { memories: rows.map(memoryItem), next: nextCursor(rows, page) };
  }

  /**
   * A workspace may delete its own LOCAL and TEAM rows and withdraw its own pending proposals.
   * An approved GLOBAL memory belongs to the org: only an admin deletes it.
   */
  async remove(principal: WorkspacePrincipal, id: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const row = await tx.findOne(Memory, {
        where: { id, orgId: principal.orgId, authorWorkspaceId: principal.workspaceId },
        lock: { mode: 'pessimistic_write' },
      });
      if (!row) throw new NotFoundException('No such memory of yours');
      if (row.scope === MemoryScope.Global && row.approvalState !== ApprovalState.Pending) {
        throw new ConflictException(
          `This GLOBAL memory is ${row.approvalState}; only an org admin can delete it`,
        );
      }
      await tx.delete(Memory, { id: row.id });
      await this.audit.append(
        { chain: principal.orgId, actor: actorOf(principal), ...memoryDeleted(row) },
        tx,
      );
    });
  }
}
