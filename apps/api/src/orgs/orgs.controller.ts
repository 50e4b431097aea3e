import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseIntPipe,
  DefaultValuePipe,
  Post,
  Query,
  Sse,
  type MessageEvent,
} from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  CurrentPrincipal,
  OrgKey,
  PartnerKey,
  PlatformAdmin,
  type Principal,
} from '@molecule/auth';
import { RateLimit } from '@molecule/rate-limits';
import { map, type Observable } from 'rxjs';
import { CreateOrgDto, DeleteOrgDto } from './dto/create-org.dto';
import { DeletionService } from './deletion.service';
import { OrgsService, viewOf, linksOf } from './orgs.service';
import { ProvisioningService } from './provisioning.service';

@ApiTags('orgs')
@ApiBearerAuth()
@Controller('v1/orgs')
export class OrgsController {
  constructor(
    private readonly orgs: OrgsService,
    private readonly provisioning: ProvisioningService,
    private readonly deletion: DeletionService,
  ) {}

  @Post()
  @HttpCode(202)
  @PlatformAdmin()
  @PartnerKey('orgs:create')
  @RateLimit('auth')
  @ApiOperation({ summary: 'Create an org; provisioning continues in the background' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  create(
    @Body() dto: CreateOrgDto,
    @CurrentPrincipal() principal: Principal,
    @Headers('idempotency-key') idempotencyKey?: string,
  ) {
    return this.orgs.create(dto, principal, idempotencyKey);
  }

  @Get()
  @PlatformAdmin()
  @PartnerKey('orgs:read')
  @ApiOperation({ summary: 'List live orgs (a partner sees the orgs it created)' })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query('limit', new DefaultValuePipe(50), new ParseIntPipe()) limit: number,
    @Query('after') after?: string,
  ) {
    const page = Math.min(Math.max(limit, 1), 200);
    const orgs = await this.orgs.list(principal, page, after);
    return { orgs, next: orgs.length === page ? orgs[orgs.length - 1].slug : null };
  }

  @Get(':slug')
  @PlatformAdmin()
  @PartnerKey('orgs:read')
  @OrgKey('viewer')
  async get(@Param('slug') slug: string, @CurrentPrincipal() principal: Principal) {
    const org = await this.orgs.get(slug, principal);
    return { org: viewOf(org), links: linksOf(org.slug) };
  }

  @Get(':slug/provisioning')
  @PlatformAdmin()
  @PartnerKey('provision:status')
  @OrgKey('viewer')
  @ApiOperation({ summary: 'Provisioning steps with timings, percent and ETA' })
  async provisioningStatus(@Param('slug') slug: string, @CurrentPrincipal() principal: Principal) {
    return this.provisioning.progress(await this.orgs.get(slug, principal));
  }

  @Sse(':slug/provisioning/events')
  @PlatformAdmin()
  @PartnerKey('provision:status')
  @OrgKey('viewer')
  @ApiOperation({ summary: 'The provisioning view as server-sent events, until it finishes' })
  async provisioningEvents(
    @Param('slug') slug: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Observable<MessageEvent>> {
    const org = await this.orgs.get(slug, principal);
    return this.provisioning.stream(org).pipe(map((view) => ({ type: 'progress', data: view })));
  }

  @Post(':slug/retry')
  @HttpCode(202)
  @PlatformAdmin()
  @PartnerKey('orgs:create')
  @OrgKey('owner')
  @ApiOperation({
    summary: 'Provision a failed org again',
    description:
      'Starts a new `org.provision` operation for an org whose provisioning failed; it resumes ' +
      'from what the failed attempt left. Repeating it while that operation runs returns it; ' +
      '409 for an org that is not failed.',
  })
  retry(@Param('slug') slug: string, @CurrentPrincipal() principal: Principal) {
    return this.orgs.retry(slug, principal);
  }

  @Delete(':slug')
  @HttpCode(202)
  @PlatformAdmin()
  @PartnerKey('orgs:delete')
  @OrgKey('owner')
  @ApiOperation({ summary: 'Delete an org and everything it owns; body {"confirm": "<slug>"}' })
  remove(
    @Param('slug') slug: string,
    @Body() dto: DeleteOrgDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.orgs.delete(slug, dto.confirm, principal);
  }

  @Get(':slug/deletion')
  @PlatformAdmin()
  @PartnerKey('orgs:delete')
  @OrgKey('owner')
  @ApiOperation({ summary: 'Deletion progress, then the deletion receipt' })
  async deletionReceipt(@Param('slug') slug: string, @CurrentPrincipal() principal: Principal) {
    return this.deletion.receipt(await this.orgs.latestBySlug(slug, principal));
  }
}
