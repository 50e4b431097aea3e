import { Body, Controller, HttpCode, Param, ParseUUIDPipe, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { A2aGateway } from '@molecule/a2a';
import { actorOf, CurrentPrincipal, OrgKey, PlatformAdmin, type Principal } from '@molecule/auth';
import type { FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import { OrgsService } from '../orgs/orgs.service';
import { SendMessageDto } from '../workspaces/workspace.dto';

/** User → agent: a person (or script) with an org key talks to one of the org's agents. */
@ApiTags('workspaces')
@ApiBearerAuth()
@Controller('v1/orgs/:slug/workspaces/:id/messages')
export class MessagesController {
  constructor(
    private readonly gateway: A2aGateway,
    private readonly orgs: OrgsService,
  ) {}

  @Post()
  @HttpCode(200)
  @PlatformAdmin()
  @OrgKey('member')
  @ApiOperation({
    summary: "Send a message to a workspace's agent and get its reply, or stream it",
    description:
      'Sends an A2A v1.0 `SendMessage` (or `SendStreamingMessage` with `stream: true`) as the ' +
      'caller. Answers `{reply}` with the agent’s message or task; with `stream: true`, the ' +
      'agent’s server-sent events as they come (each a JSON-RPC response). Recorded in the ' +
      'org’s A2A activity and live events, without the text.',
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiResponse({ status: 402, description: 'The workspace is over its budget' })
  @ApiResponse({ status: 502, description: 'The agent failed or answered with an error' })
  @ApiResponse({ status: 503, description: 'The workspace is not online (with Retry-After)' })
  async send(
    @Param('slug') slug: string,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: SendMessageDto,
    @CurrentPrincipal() principal: Principal,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const org = await this.orgs.get(slug, principal);
    const message = {
      messageId: randomUUID(),
      role: 'ROLE_USER',
      parts: [{ text: dto.text }],
      ...(dto.contextId ? { contextId: dto.contextId } : {}),
      ...(dto.taskId ? { taskId: dto.taskId } : {}),
    };
    await this.gateway.send(
      {
        orgId: org.id,
        caller: { actor: actorOf(principal) },
        targetId: id,
        body: {
          jsonrpc: '2.0',
          id: randomUUID(),
          method: dto.stream ? 'SendStreamingMessage' : 'SendMessage',
          params: { message },
        },
        headers: {
          'content-type': 'application/json',
          'a2a-version': '1.0',
          accept: dto.stream ? 'text/event-stream' : 'application/json',
        },
      },
      reply,
      { unwrap: true },
    );
  }
}
