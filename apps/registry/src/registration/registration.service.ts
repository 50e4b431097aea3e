import { ConflictException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@molecule/audit';
import { WorkspaceTokens, type Principal } from '@molecule/auth';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { Workspace, WorkspaceStatus } from '@molecule/database';
import { OrgEvents } from '@molecule/events';
import { In, type DataSource } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import type { BootReportDto, RegisterDto } from './registration.dto';

type WorkspacePrincipal = Extract<Principal, { kind: 'workspace-token' | 'workspace-bootstrap' }>;

/** A workspace may (re-)register from any of these; never once it is being deleted. */
const REGISTRABLE: readonly WorkspaceStatus[] = [
  WorkspaceStatus.Provisioning,
  WorkspaceStatus.Booting,
  WorkspaceStatus.Online,
  WorkspaceStatus.Degraded,
  WorkspaceStatus.Offline,
];

@Injectable()
export class RegistrationService {
  private readonly tokens: WorkspaceTokens;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly events: OrgEvents,
  ) {
    this.tokens = new WorkspaceTokens(dataSource);
  }

  /**
   * Bootstrap token → session token (once), or a session token re-registering after a restart.
   * Either way the workspace is `online` from here, with its agent card and endpoint.
   */
  /** The endpoint a runtime reports is not stored: the provisioner records where it really is. */
  async register(principal: WorkspacePrincipal, dto: RegisterDto) {
    // The token decides who is calling; a body naming another workspace is refused, not trusted.
    if (dto.workspaceId !== principal.workspaceId) {
      throw new UnauthorizedException('The credential does not belong to this workspace');
    }
    // Checked before a bootstrap token is spent, so a refused registration loses nothing.
    const current = await this.dataSource
      .getRepository(Workspace)
      .findOneBy({ id: principal.workspaceId });
    if (!current || !REGISTRABLE.includes(current.status)) {
      throw new ConflictException(
        `The workspace is ${current?.status ?? 'gone'}; it cannot register`,
      );
    }
    let sessionToken: string | undefined;
    if (principal.kind === 'workspace-bootstrap') {
      sessionToken = await this.tokens.exchange(principal.tokenId, principal.workspaceId);
      if (!sessionToken)
        throw new UnauthorizedException('The bootstrap token was already used or has expired');
    }
    const now = new Date();
    const updated = await this.dataSource.transaction(async (tx) => {
      const result = await tx.update(
        Workspace,
        { id: principal.workspaceId, status: In(REGISTRABLE) },
        {
          status: WorkspaceStatus.Online,
          // TypeORM's partial-entity type cannot express an arbitrary JSON object column.
          agentCard: (dto.agentCard ?? null) as QueryDeepPartialEntity<Workspace>['agentCard'],
          lastHeartbeatAt: now,
          onlineAt: now,
          bootStage: 'online',
          lastError: null,
        },
      );
      if (!result.affected) return false;
      await this.audit.append(
        {
          chain: principal.orgId,
          actor: `workspace:${principal.workspaceId}`,
          action: sessionToken ? 'workspace.registered' : 'workspace.re-registered',
          target: `workspace:${principal.workspaceId}`,
          data: { version: dto.version ?? null },
        },
        tx,
      );
      return true;
    });
    if (!updated) throw new ConflictException('The workspace changed state; it cannot register');
    if (current.status !== WorkspaceStatus.Online) {
      await this.events.workspaceStatus(principal.orgId, {
        workspaceId: principal.workspaceId,
        status: WorkspaceStatus.Online,
        previous: current.status,
        reason: sessionToken ? 'registered' : 're-registered',
      });
    }
    return {
      workspaceId: principal.workspaceId,
      ...(sessionToken ? { sessionToken } : {}),
      heartbeatIntervalSeconds: this.config.registry.heartbeatIntervalSeconds,
    };
  }

  /** Why a runtime could not come up, so `GET` on the workspace can say so. */
  async bootReport(principal: WorkspacePrincipal, dto: BootReportDto): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const result = await tx.update(
        Workspace,
        { id: principal.workspaceId, status: In(REGISTRABLE) },
        { bootStage: dto.stage, lastError: dto.error },
      );
      if (!result.affected) return;
      await this.audit.append(
        {
          chain: principal.orgId,
          actor: `workspace:${principal.workspaceId}`,
          action: 'workspace.boot-failed',
          target: `workspace:${principal.workspaceId}`,
          data: { stage: dto.stage },
        },
        tx,
      );
    });
  }

  async rotate(principal: Extract<Principal, { kind: 'workspace-token' }>) {
    const sessionToken = await this.tokens.rotate(principal.tokenId, principal.workspaceId);
    if (!sessionToken) throw new UnauthorizedException('The session token is no longer valid');
    return { sessionToken };
  }
}
