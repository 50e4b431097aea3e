import { Module } from '@nestjs/common';
import { OrgEventFeedModule } from '@molecule/events';
import { OrgsModule } from '../orgs/orgs.module';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

/** `GET /v1/orgs/:slug/events`: live org events over SSE, fanned out to replicas by Redis. */
@Module({
  imports: [OrgsModule, OrgEventFeedModule],
  controllers: [EventsController],
  providers: [EventsService],
})
export class EventsModule {}
