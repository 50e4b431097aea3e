import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, OrgKey, PlatformAdmin, type Principal } from '@molecule/auth';
import { OrgsService } from '../orgs/orgs.service';
import { PutSecretDto, SecretScopeQuery } from './secret.dto';
import { SecretsService } from './secrets.service';

@ApiTags('secrets')
@ApiBearerAuth()
@Controller('v1/orgs/:slug/secrets')
export class SecretsController {
  constructor(
    private readonly secrets: SecretsService,
    private readonly orgs: OrgsService,
  ) {}

  @Put(':name')
  @PlatformAdmin()
  @OrgKey('admin')
  @ApiOperation({ summary: 'Create or replace a secret (write-only)' })
  async put(
    @Param('slug') slug: string,
    @Param('name') name: string,
    @Body() dto: PutSecretDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.secrets.put(
      await this.orgs.get(slug, principal),
      name,
      dto.value,
      dto.workspaceId,
      principal,
    );
  }

  @Get()
  @PlatformAdmin()
  @OrgKey('member')
  @ApiOperation({ summary: 'Secret names (never values)' })
  async list(
    @Param('slug') slug: string,
    @Query() query: SecretScopeQuery,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.secrets.list(await this.orgs.get(slug, principal), query.workspaceId);
  }

  @Delete(':name')
  @HttpCode(204)
  @PlatformAdmin()
  @OrgKey('admin')
  async remove(
    @Param('slug') slug: string,
    @Param('name') name: string,
    @Query() query: SecretScopeQuery,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.secrets.remove(
      await this.orgs.get(slug, principal),
      name,
      query.workspaceId,
      principal,
    );
  }
}
