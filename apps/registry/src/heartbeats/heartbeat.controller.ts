import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { CurrentPrincipal, WorkspaceToken, type Principal } from '@molecule/auth';
import { SkipRateLimit } from '@molecule/rate-limits';
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
  // The hot path: a session verified in the last minute is not looked up again, so a beat costs
  // no Postgres round trip. Revocation reaches this route within that minute; registration and
  // everything else always check the database, and a flush never revives a deleted workspace.
  @WorkspaceToken({ cacheSeconds: 60 })
  // Not rate limited: counting would add a Redis round trip to every beat (see operations.md).
  @SkipRateLimit()
  @ApiOperation({ summary: 'Report liveness and load; answers with the next interval' })
  async beat(
    @CurrentPrincipal() principal: Extract<Principal, { kind: 'workspace-token' }>,
    @Body() dto: HeartbeatDto,
  ) {
    await this.store.record(principal.workspaceId, dto);
    return { nextIntervalSeconds: this.config.registry.heartbeatIntervalSeconds };
  }
}
