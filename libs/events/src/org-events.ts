import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { InjectPinoLogger, PinoLogger } from '@molecule/logging';
import { MetricsService } from '@molecule/observability';
import { REDIS } from '@molecule/redis';
import type { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { encodeData, orgEventsChannel, orgEventsKey } from './event-codec';
import type { OrgEventData, OrgEventPayloads, OrgEventType } from './event-types';

/**
 * Appends to the org's stream, trims it to the retained window (by count, then by age measured
 * on the Redis clock that stamped the id), lets an idle stream expire, and announces the event
 * on the org's channel. One script, so announcements leave in stream order even with many
 * publishers: a listener that drops ids at or below the last one it sent never loses one.
 *
 * KEYS[1] stream; ARGV maxlen, window ms, type, data, channel.
 */
const APPEND_SCRIPT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'type', ARGV[3], 'data', ARGV[4])
local ms = tonumber(string.match(id, '^(%d+)'))
redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d', ms - tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[5], id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
return id
`;
const APPEND_SHA = createHash('sha1').update(APPEND_SCRIPT).digest('hex');

/**
 * Publishes an org's live events (see `GET /v1/orgs/:slug/events`). Available in every service
 * through CoreModule. Events are notifications: Postgres stays the source of truth, so
 * `publish` never throws into the caller; a failure is logged and counted. Call it after the
 * transaction that made the change has committed.
 */
@Injectable()
export class OrgEvents {
  private readonly published: Counter<'type'>;
  private readonly failed: Counter<'type'>;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectPinoLogger(OrgEvents.name) private readonly logger: PinoLogger,
    metrics: MetricsService,
  ) {
    this.published = new Counter({
      name: 'org_events_published_total',
      help: 'Live org events published, by type',
      labelNames: ['type'] as const,
      registers: [metrics.registry],
    });
    this.failed = new Counter({
      name: 'org_events_publish_failures_total',
      help: 'Live org events that could not be published (refused payload or Redis error)',
      labelNames: ['type'] as const,
      registers: [metrics.registry],
    });
  }

  /** Resolves once the event is stored and announced, or once the failure is recorded. */
  async publish(orgId: string, type: OrgEventType, data: OrgEventData): Promise<void> {
    try {
      const encoded = encodeData(type, data);
      await this.append(orgId, type, encoded);
      this.published.inc({ type });
    } catch (error) {
      this.failed.inc({ type });
      this.logger.warn(
        { orgId, eventType: type, err: error instanceof Error ? error.message : String(error) },
        'org event not published',
      );
    }
  }

  /** `workspace.status`: call it once the transaction that changed the status has committed. */
  workspaceStatus(orgId: string, data: OrgEventPayloads['workspace.status']): Promise<void> {
    return this.publish(orgId, 'workspace.status', data);
  }

  private async append(orgId: string, type: string, data: string): Promise<void> {
    const { prefix } = this.config.redis;
    const { retentionCount, retentionSeconds } = this.config.events;
    const args = [
      orgEventsKey(prefix, orgId),
      String(retentionCount),
      String(retentionSeconds * 1000),
      type,
      data,
      orgEventsChannel(prefix, orgId),
    ];
    try {
      await this.redis.evalsha(APPEND_SHA, 1, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      await this.redis.eval(APPEND_SCRIPT, 1, ...args);
    }
  }
}
