import {
  Controller,
  Get,
  NotFoundException,
  Param,
  Res,
  Sse,
  type MessageEvent,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { Public } from '@molecule/auth';
import { Org, OrgStatus } from '@molecule/database';
import type { FastifyReply } from 'fastify';
import { randomBytes } from 'node:crypto';
import { map, type Observable } from 'rxjs';
import { Not, type DataSource } from 'typeorm';
import { ProvisioningService, type ProgressView } from './provisioning.service';
import { statusPage } from './status-page';

/** What anyone may learn about an org's provisioning: progress only (SPEC §5.2). */
function publicView(view: ProgressView) {
  const { error: _hidden, operationId: _id, ...rest } = view;
  return rest;
}

/** The public status page linked from the create response, and its event stream. */
@ApiTags('status')
@Controller('orgs/:slug/status')
export class OrgStatusController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly provisioning: ProvisioningService,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'HTML page with a live progress bar and ETA' })
  async page(@Param('slug') slug: string, @Res() reply: FastifyReply): Promise<void> {
    await this.live(slug);
    const nonce = randomBytes(16).toString('base64');
    await reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header(
        'content-security-policy',
        `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'`,
      )
      .send(statusPage(slug, nonce));
  }

  @Sse('events')
  @Public()
  @ApiOperation({ summary: 'Public provisioning progress (no ids, no error details)' })
  async events(@Param('slug') slug: string): Promise<Observable<MessageEvent>> {
    const org = await this.live(slug);
    return this.provisioning
      .stream(org)
      .pipe(map((view) => ({ type: 'progress', data: publicView(view) })));
  }

  private async live(slug: string): Promise<Org> {
    const org = await this.dataSource
      .getRepository(Org)
      .findOneBy({ slug, status: Not(OrgStatus.Deleted) });
    if (!org) throw new NotFoundException(`No org ${slug}`);
    return org;
  }
}
