import { Controller, Headers, type MessageEvent, Param, Query, Sse } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, OrgKey, PlatformAdmin, type Principal } from '@molecule/auth';
import type { Observable } from 'rxjs';
import { OrgsService } from '../orgs/orgs.service';
import { EventsQuery } from './events.dto';
import { EventsService } from './events.service';

/**
 * Nest drops a client once this many characters of events wait for it while its socket is
 * backed up (a slow or stalled reader); it reconnects with Last-Event-ID and resumes. It is
 * above the largest catch-up (EVENTS_RETENTION_COUNT at most 10,000 small events).
 */
const MAX_PENDING_CHARACTERS = 4 * 1024 * 1024;

@ApiTags('events')
@ApiBearerAuth()
@Controller('v1/orgs/:slug/events')
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly orgs: OrgsService,
  ) {}

  @Sse('', { maxPendingDataLength: MAX_PENDING_CHARACTERS })
  @PlatformAdmin()
  @OrgKey('viewer')
  @ApiOperation({
    summary:
      "The org's live events (workspace status, provisioning, A2A calls, memory approvals) " +
      'as server-sent events, resumable with Last-Event-ID',
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false })
  async stream(
    @Param('slug') slug: string,
    @Query() query: EventsQuery,
    @CurrentPrincipal() principal: Principal,
    @Headers('last-event-id') lastEventId?: string,
  ): Promise<Observable<MessageEvent>> {
    const org = await this.orgs.get(slug, principal);
    return this.events.follow(org, lastEventId || query.lastEventId);
  }
}
