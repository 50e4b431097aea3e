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
import { CurrentPrincipal, PlatformAdmin, type Principal } from '@molecule/auth';
import { RateLimit } from '@molecule/rate-limits';
import { CreatePartnerKeyDto } from './api-key.dto';
import { ApiKeysService } from './api-keys.service';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/partner-keys')
@PlatformAdmin()
export class PartnerKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @RateLimit('auth')
  @ApiOperation({ summary: 'Create a partner key (its token is shown once)' })
  create(@Body() dto: CreatePartnerKeyDto, @CurrentPrincipal() principal: Principal) {
    return this.keys.createPartnerKey(dto, principal);
  }

  @Get()
  list() {
    return this.keys.listPartnerKeys();
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.keys.revokePartnerKey(id, principal);
  }
}
