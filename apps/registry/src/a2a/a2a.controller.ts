import {
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  ParseUUIDPipe,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { loadOrgChart } from '@molecule/access';
import { A2aGateway } from '@molecule/a2a';
import { CurrentPrincipal, WorkspaceToken, type Principal } from '@molecule/auth';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { Workspace } from '@molecule/database';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { In, type DataSource } from 'typeorm';

type WorkspacePrincipal = Extract<Principal, { kind: 'workspace-token' }>;

/**
 * Agent → agent messaging. The caller is the workspace its session token belongs to; headers
 * such as `X-Workspace-ID` or `X-Molecule-Org-Id` are never read, and never reach the target.
 */
@ApiTags('a2a')
@ApiBearerAuth()
@Controller('registry')
export class A2aController {
  constructor(
    private readonly gateway: A2aGateway,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('a2a/:targetId')
  @HttpCode(200)
  @WorkspaceToken()
  @ApiOperation({
    summary: 'Relay an A2A JSON-RPC request to a workspace the caller may reach',
    description:
      'A2A v1.0 (`SendMessage`, `SendStreamingMessage`, `GetTask`, `CancelTask`, `ListTasks`, ' +
      '`SubscribeToTask`) and v0.3 (`message/send`, `message/stream`, `tasks/get`, ' +
      '`tasks/cancel`, `tasks/resubscribe`). `A2A-Version` and `A2A-Extensions` are passed ' +
      'through; streaming methods answer `text/event-stream`, relayed as it arrives. ' +
      'Reachable: the caller itself, its siblings, ancestors and descendants in the same org.',
  })
  @ApiHeader({ name: 'A2A-Version', required: false, description: '`1.0`; absent means 0.3' })
  @ApiBody({ schema: { type: 'object', description: 'A JSON-RPC 2.0 request' } })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiResponse({ status: 402, description: 'The caller or the target is over its budget' })
  @ApiResponse({ status: 403, description: 'The hierarchy does not let the caller reach it' })
  @ApiResponse({ status: 404, description: 'No such workspace in the caller’s org' })
  @ApiResponse({ status: 413, description: 'Request body over MAX_REQUEST_BYTES (1 MiB)' })
  @ApiResponse({ status: 503, description: 'The target is not online (with Retry-After)' })
  async send(
    @Param('targetId', new ParseUUIDPipe()) targetId: string,
    @CurrentPrincipal() principal: WorkspacePrincipal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.gateway.send(
      {
        orgId: principal.orgId,
        caller: { actor: `workspace:${principal.workspaceId}`, workspaceId: principal.workspaceId },
        targetId,
        body: request.body,
        headers: request.headers,
      },
      reply,
    );
  }

  @Get('a2a/:targetId/.well-known/agent-card.json')
  @WorkspaceToken()
  @ApiOperation({
    summary: "A reachable workspace's agent card, pointing at this proxy",
    description:
      "Build an A2A client from it (e.g. `ClientFactory.createFromUrl(<this URL>, '')` with the " +
      'session token as bearer in its fetch): every interface URL is the proxy route.',
  })
  async card(
    @Param('targetId', new ParseUUIDPipe()) targetId: string,
    @CurrentPrincipal() principal: WorkspacePrincipal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.gateway.agentCard(
      {
        orgId: principal.orgId,
        caller: { actor: `workspace:${principal.workspaceId}`, workspaceId: principal.workspaceId },
        targetId,
        headers: request.headers,
      },
      this.relayUrl(targetId),
      reply,
    );
  }

  @Get('peers')
  @WorkspaceToken()
  @ApiOperation({
    summary: 'The workspaces the caller may message, with how each stands to it',
  })
  async peers(@CurrentPrincipal() principal: WorkspacePrincipal) {
    const chart = await loadOrgChart(this.dataSource, principal.orgId);
    const reachable = chart.reachableFrom(principal.workspaceId);
    const rows = reachable.length
      ? await this.dataSource
          .getRepository(Workspace)
          .findBy({ id: In(reachable.map((node) => node.id)), orgId: principal.orgId })
      : [];
    return {
      peers: rows
        .map((row) => ({
          id: row.id,
          name: row.name,
          status: row.status,
          parentId: row.parentId,
          relation: chart.relation(principal.workspaceId, row.id),
          url: this.relayUrl(row.id),
          agentCard: row.agentCard
            ? { name: row.agentCard.name ?? null, skills: row.agentCard.skills ?? [] }
            : null,
        }))
        .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id)),
    };
  }

  private relayUrl(targetId: string): string {
    return `${this.config.registry.publicUrl.replace(/\/$/, '')}/registry/a2a/${targetId}`;
  }
}
