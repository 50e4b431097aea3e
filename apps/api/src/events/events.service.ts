import {
  BadRequestException,
  Inject,
  Injectable,
  type MessageEvent,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import type { Org } from '@molecule/database';
import {
  isStreamId,
  OrgEventFeed,
  RESYNC_EVENT_TYPE,
  type FeedItem,
  type OrgEventEnvelope,
} from '@molecule/events';
import { MetricsService } from '@molecule/observability';
import { Observable } from 'rxjs';
import { Gauge } from 'prom-client';

/**
 * The org's live events as SSE messages: each event's stream id as the SSE `id`, the AG-UI
 * envelope `{type, timestamp, data}` as its data (no SSE event name, so `onmessage` gets all),
 * a comment once the stream is live, and a comment every heartbeat interval for proxies.
 */
@Injectable()
export class EventsService implements OnModuleInit {
  constructor(
    private readonly feed: OrgEventFeed,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    const feed = this.feed;
    new Gauge({
      name: 'org_events_clients',
      help: 'SSE clients following org events on this instance',
      registers: [this.moduleRef.get(MetricsService, { strict: false }).registry],
      collect() {
        this.set(feed.followers);
      },
    });
  }

  /** `lastEventId` comes from the `Last-Event-ID` header (or the query when a client has none). */
  follow(org: Org, lastEventId?: string): Observable<MessageEvent> {
    const after = lastEventId === undefined || lastEventId === '' ? undefined : lastEventId;
    if (after !== undefined && !isStreamId(after)) {
      throw new BadRequestException({
        code: 'invalid_last_event_id',
        message: 'Last-Event-ID must be an event id this stream sent (such as 1700000000000-0)',
      });
    }
    const heartbeatMs = this.config.events.heartbeatSeconds * 1000;
    const items = this.feed.follow(org.id, after);
    return new Observable<MessageEvent>((subscriber) => {
      const heartbeat = setInterval(() => subscriber.next({ comment: 'keep-alive' }), heartbeatMs);
      const subscription = items.subscribe({
        next: (item) => subscriber.next(messageOf(item, after)),
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        clearInterval(heartbeat);
        subscription.unsubscribe();
      };
    });
  }
}

function messageOf(item: FeedItem, after: string | undefined): MessageEvent {
  switch (item.kind) {
    case 'event':
      return { id: item.record.id, data: item.record.event };
    case 'ready':
      return { comment: 'ready' };
    case 'resync': {
      // Carries the id the client resumed from: a client that drops now still gets told again.
      const event: OrgEventEnvelope = {
        type: RESYNC_EVENT_TYPE,
        timestamp: Date.now(),
        data: { reason: 'outside_retained_window' },
      };
      return { id: after, data: event };
    }
  }
}
