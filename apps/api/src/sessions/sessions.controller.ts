import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, OrgKey, type Principal } from '@molecule/auth';
import { RateLimit } from '@molecule/rate-limits';
import { SessionTicketDto } from './session-ticket.dto';
import { SessionTicketsService } from './session-tickets.service';

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('v1/orgs/:slug/sessions')
export class SessionsController {
  constructor(private readonly tickets: SessionTicketsService) {}

  /**
   * Org keys only: a session stands on the key that opened it (revoking the key ends it), and the
   * platform admin token is not a visitor of any org.
   */
  @Post()
  @HttpCode(201)
  @OrgKey('viewer')
  @RateLimit('auth')
  @ApiOperation({
    summary: 'Create a one-time sign-in link to the org’s tenant host (browser session)',
  })
  @ApiCreatedResponse({ type: SessionTicketDto })
  async create(
    @Param('slug') slug: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionTicketDto> {
    return this.tickets.issue(slug, principal);
  }
}
