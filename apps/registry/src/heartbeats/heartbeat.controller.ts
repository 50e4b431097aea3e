import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { CurrentPrincipal, WorkspaceToken, type Principal } from '@molecule/auth';
import { HeartbeatDto } from './heartbeat.dto';
import { HeartbeatStore } from './heartbeat.store';

@ApiTags('registry')
@ApiBearerAuth()
@Controller('registry')
export class HeartbeatController {
  constructor(
    private readonly store: HeartbeatStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('heartbeat')
  @HttpCode(200)
  @WorkspaceToken()
  @ApiOperation({ summary: 'Report liveness and load; answers with the next interval' })
  async beat(
    @CurrentPrincipal() principal: Extract<Principal, { kind: 'workspace-token' }>,
    @Body() dto: HeartbeatDto,
  ) {
    await this.store.record(principal.workspaceId, dto);
    return { nextIntervalSeconds: this.config.registry.heartbeatIntervalSeconds };
  }
}
