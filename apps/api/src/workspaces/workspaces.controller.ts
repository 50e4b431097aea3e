import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  ParseUUIDPipe,
  Post,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, OrgKey, PlatformAdmin, type Principal } from '@molecule/auth';
import { OrgsService } from '../orgs/orgs.service';
import { CreateWorkspaceDto, UpdateWorkspaceDto } from './workspace.dto';
import { WorkspacesService, workspaceView } from './workspaces.service';

@ApiTags('workspaces')
@ApiBearerAuth()
@Controller('v1/orgs/:slug/workspaces')
export class WorkspacesController {
  constructor(
    private readonly workspaces: WorkspacesService,
    private readonly orgs: OrgsService,
  ) {}

  @Post()
  @HttpCode(202)
  @PlatformAdmin()
  @OrgKey('member')
  @ApiOperation({ summary: 'Deploy a workspace; 422 names any required key that is missing' })
  async create(
    @Param('slug') slug: string,
    @Body() dto: CreateWorkspaceDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.workspaces.create(await this.orgs.get(slug, principal), dto, principal);
  }

  @Get()
  @PlatformAdmin()
  @OrgKey('viewer')
  async list(@Param('slug') slug: string, @CurrentPrincipal() principal: Principal) {
    return this.workspaces.list(await this.orgs.get(slug, principal));
  }

  @Get(':id')
  @PlatformAdmin()
  @OrgKey('viewer')
  @ApiOperation({ summary: 'Status, agent card, last heartbeat, and why it is not online' })
  async get(
    @Param('slug') slug: string,
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    return {
      workspace: workspaceView(await this.workspaces.get(await this.orgs.get(slug, principal), id)),
    };
  }

  @Patch(':id')
  @PlatformAdmin()
  @OrgKey('admin')
  @ApiOperation({
    summary: 'Move a workspace in the agent hierarchy (parentId) or set its budget (admin)',
    description:
      'The hierarchy decides who may message whom and who sees TEAM memories; only org ' +
      'admins change it, and every change is audited. 422 when the parent is not a live ' +
      'workspace of the org or the move would create a cycle.',
  })
  async update(
    @Param('slug') slug: string,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: UpdateWorkspaceDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.workspaces.update(await this.orgs.get(slug, principal), id, dto, principal);
  }

  @Delete(':id')
  @HttpCode(202)
  @PlatformAdmin()
  @OrgKey('member')
  async remove(
    @Param('slug') slug: string,
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.workspaces.delete(await this.orgs.get(slug, principal), id, principal);
  }

  @Post(':id/restart')
  @HttpCode(202)
  @PlatformAdmin()
  @OrgKey('member')
  async restart(
    @Param('slug') slug: string,
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.workspaces.restart(await this.orgs.get(slug, principal), id, principal);
  }
}
