import {
  BadRequestException,
  Controller,
  DefaultValuePipe,
  Get,
  Param,
  ParseIntPipe,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditService, PLATFORM_CHAIN } from '@molecule/audit';
import { CurrentPrincipal, OrgKey, PlatformAdmin, type Principal } from '@molecule/auth';
import { OrgsService } from '../orgs/orgs.service';

@ApiTags('audit')
@ApiBearerAuth()
@Controller()
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly orgs: OrgsService,
  ) {}

  @Get('v1/orgs/:slug/audit')
  @PlatformAdmin()
  @OrgKey('admin')
  @ApiOperation({
    summary: 'The org audit trail, newest first, and whether its hash chain verifies',
  })
  async list(
    @Param('slug') slug: string,
    @CurrentPrincipal() principal: Principal,
    @Query('limit', new DefaultValuePipe(50), new ParseIntPipe()) limit: number,
    @Query('before') before?: string,
  ) {
    const cursor = validCursor(before);
    const org = await this.orgs.latestBySlug(slug, principal);
    return this.trail(org.id, limit, cursor);
  }

  @Get('v1/admin/audit')
  @PlatformAdmin()
  @ApiOperation({
    summary:
      'The platform audit trail (partner keys and other actions of no org), newest first, and whether its hash chain verifies',
  })
  async platform(
    @Query('limit', new DefaultValuePipe(50), new ParseIntPipe()) limit: number,
    @Query('before') before?: string,
  ) {
    return this.trail(PLATFORM_CHAIN, limit, validCursor(before));
  }

  private async trail(chain: string, limit: number, before: string | undefined) {
    const page = Math.min(Math.max(limit, 1), 200);
    const events = await this.audit.page(chain, page, before);
    return {
      events: events.map((e) => ({
        id: e.id,
        seq: e.seq,
        actor: e.actor,
        action: e.action,
        target: e.target,
        data: e.data,
        createdAt: e.createdAt.toISOString(),
        hash: e.hash,
        prevHash: e.prevHash,
      })),
      next: events.length === page ? events[events.length - 1].seq : null,
      verification: await this.audit.verify(chain),
    };
  }
}

/** A cursor that is not one we gave out would otherwise silently restart at the first page. */
function validCursor(before: string | undefined): string | undefined {
  if (before !== undefined && !/^\d{1,18}$/.test(before)) {
    throw new BadRequestException('before must be the `next` of a previous page');
  }
  return before;
}
