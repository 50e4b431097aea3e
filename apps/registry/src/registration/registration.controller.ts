import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  CurrentPrincipal,
  WorkspaceBootstrapToken,
  WorkspaceToken,
  type Principal,
} from '@molecule/auth';
import { RateLimit } from '@molecule/rate-limits';
import { BootReportDto, RegisterDto } from './registration.dto';
import { RegistrationService } from './registration.service';

type WorkspacePrincipal = Extract<Principal, { kind: 'workspace-token' | 'workspace-bootstrap' }>;

@ApiTags('registry')
@ApiBearerAuth()
@Controller('registry')
@RateLimit('auth')
export class RegistrationController {
  constructor(private readonly registration: RegistrationService) {}

  @Post('register')
  @HttpCode(200)
  @WorkspaceBootstrapToken()
  @WorkspaceToken()
  @ApiOperation({ summary: 'Exchange a bootstrap token for a session token, or re-register' })
  register(@CurrentPrincipal() principal: WorkspacePrincipal, @Body() dto: RegisterDto) {
    return this.registration.register(principal, dto);
  }

  @Post('boot-report')
  @HttpCode(204)
  @WorkspaceBootstrapToken()
  @WorkspaceToken()
  @ApiOperation({ summary: 'Report the boot stage reached and the error that stopped it' })
  async bootReport(@CurrentPrincipal() principal: WorkspacePrincipal, @Body() dto: BootReportDto) {
    await this.registration.bootReport(principal, dto);
  }

  @Post('token/rotate')
  @HttpCode(200)
  @WorkspaceToken()
  rotate(@CurrentPrincipal() principal: Extract<Principal, { kind: 'workspace-token' }>) {
    return this.registration.rotate(principal);
  }
}
