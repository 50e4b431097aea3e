import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, OrgKey, PlatformAdmin, type Principal } from '@molecule/auth';
import { ApprovalState } from '@molecule/database';
import { OrgsService } from '../orgs/orgs.service';
import { MemoriesService } from './memories.service';
import { ListOrgMemoriesQuery, WriteOrgMemoryDto } from './memory.dto';

@ApiTags('memories')
@ApiBearerAuth()
@Controller('v1/orgs/:slug/memories')
export class MemoriesController {
  constructor(
    private readonly memories: MemoriesService,
    private readonly orgs: OrgsService,
  ) {}

  @Post()
  @PlatformAdmin()
  @OrgKey('admin')
  @ApiOperation({ summary: 'Write a GLOBAL memory, in effect at once (413 over the size limit)' })
  async write(
    @Param('slug') slug: string,
    @Body() dto: WriteOrgMemoryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.memories.write(await this.orgs.get(slug, principal), dto, principal);
  }

  @Get()
  @PlatformAdmin()
  @OrgKey('member')
  @ApiOperation({
    summary: "The org's memories; ?state=pending lists proposals (members: approved GLOBAL only)",
  })
  async list(
    @Param('slug') slug: string,
    @Query() query: ListOrgMemoriesQuery,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.memories.list(await this.orgs.get(slug, principal), query, principal);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @PlatformAdmin()
  @OrgKey('admin')
  @ApiOperation({
    summary: 'Approve a pending GLOBAL proposal: every workspace of the org sees it',
  })
  async approve(
    @Param('slug') slug: string,
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    const org = await this.orgs.get(slug, principal);
    return this.memories.decide(org, id, ApprovalState.Approved, principal);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @PlatformAdmin()
  @OrgKey('admin')
  @ApiOperation({ summary: 'Reject a pending GLOBAL proposal: it stays hidden' })
  async reject(
    @Param('slug') slug: string,
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    const org = await this.orgs.get(slug, principal);
    return this.memories.decide(org, id, ApprovalState.Rejected, principal);
  }

  @Delete(':id')
  @HttpCode(204)
  @PlatformAdmin()
  @OrgKey('admin')
  async remove(
    @Param('slug') slug: string,
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.memories.remove(await this.orgs.get(slug, principal), id, principal);
  }
}
