import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, OrgKey, PlatformAdmin, type Principal } from '@molecule/auth';
import { RateLimit } from '@molecule/rate-limits';
import { OrgsService } from '../orgs/orgs.service';
import { CreateOrgKeyDto } from './api-key.dto';
import { ApiKeysService } from './api-keys.service';

@ApiTags('api-keys')
@ApiBearerAuth()
@Controller('v1/orgs/:slug/api-keys')
@PlatformAdmin()
@OrgKey('admin')
export class OrgApiKeysController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly orgs: OrgsService,
  ) {}

  @Post()
  @RateLimit('auth')
  @ApiOperation({ summary: 'Create an org API key (its token is shown once)' })
  async create(
    @Param('slug') slug: string,
    @Body() dto: CreateOrgKeyDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.keys.createOrgKey(await this.orgs.get(slug, principal), dto, principal);
  }

  @Get()
  async list(@Param('slug') slug: string, @CurrentPrincipal() principal: Principal) {
    return this.keys.listOrgKeys(await this.orgs.get(slug, principal));
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(
    @Param('slug') slug: string,
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.keys.revokeOrgKey(await this.orgs.get(slug, principal), id, principal);
  }
}
