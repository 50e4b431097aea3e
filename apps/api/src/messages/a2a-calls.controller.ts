import {
  BadRequestException,
  Controller,
  DefaultValuePipe,
  Get,
  Param,
  ParseIntPipe,
  ParseUUIDPipe,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { CurrentPrincipal, OrgKey, PlatformAdmin, type Principal } from '@molecule/auth';
import { A2aCall, nextCursor, olderThan } from '@molecule/database';
import type { DataSource } from 'typeorm';
import { OrgsService } from '../orgs/orgs.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The org's A2A activity: every relayed or refused call, without content. */
@ApiTags('workspaces')
@ApiBearerAuth()
@Controller('v1/orgs/:slug/a2a-calls')
export class A2aCallsController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly orgs: OrgsService,
  ) {}

  @Get()
  @PlatformAdmin()
  @OrgKey('viewer')
  @ApiOperation({
    summary: 'A2A calls to and between the org’s workspaces, newest first',
    description:
      'Caller, target, method, outcome, HTTP status, sizes and duration of each call through ' +
      'the registry proxy or the messages route; never the content.',
  })
  @ApiQuery({ name: 'workspaceId', required: false, description: 'Calls from or to it' })
  @ApiQuery({ name: 'before', required: false, description: 'The `next` of the previous page' })
  async list(
    @Param('slug') slug: string,
    @CurrentPrincipal() principal: Principal,
    @Query('limit', new DefaultValuePipe(50), new ParseIntPipe()) limit: number,
    @Query('workspaceId', new ParseUUIDPipe({ optional: true })) workspaceId?: string,
    @Query('before') before?: string,
  ) {
    if (before !== undefined && !UUID.test(before)) {
      throw new BadRequestException('before must be the `next` of a previous page');
    }
    const org = await this.orgs.get(slug, principal);
    const page = Math.min(Math.max(limit, 1), 200);
    const query = this.dataSource
      .getRepository(A2aCall)
      .createQueryBuilder('c')
      .where('c.orgId = :orgId', { orgId: org.id })
      .orderBy('c.createdAt', 'DESC')
      .addOrderBy('c.id', 'DESC')
      .take(page);
    if (workspaceId) {
      query.andWhere('(c.callerWorkspaceId = :ws OR c.targetWorkspaceId = :ws)', {
        ws: workspaceId,
      });
    }
    if (before) olderThan(query, before, org.id);
    const calls = await query.getMany();
    return {
      calls: calls.map((c) => ({
        id: c.id,
        caller: c.caller,
        callerWorkspaceId: c.callerWorkspaceId,
        targetWorkspaceId: c.targetWorkspaceId,
        method: c.method,
        outcome: c.outcome,
        httpStatus: c.httpStatus,
        streamed: c.streamed,
        requestBytes: c.requestBytes,
        responseBytes: c.responseBytes,
        durationMs: c.durationMs,
        createdAt: c.createdAt.toISOString(),
      })),
      next: nextCursor(calls, page),
    };
  }
}
