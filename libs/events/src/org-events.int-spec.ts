import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testInfrastructure } from '@molecule/config';
import type { PinoLogger } from '@molecule/logging';
import type { MetricsService } from '@molecule/observability';
import { createTestRedisPrefix, eventually, testConfig } from '@molecule/testing';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import {
  compareStreamIds,
  decodeAnnouncement,
  orgEventsChannel,
  orgEventsKey,
} from './event-codec';
import { OrgEvents } from './org-events';

/** Against a real Redis: what the SSE side relies on from the publishing script. */
describe('OrgEvents on Redis', () => {
  const redisPrefix = createTestRedisPrefix();
  const config = testConfig('api', 'postgres://unused@127.0.0.1/unused', redisPrefix.prefix, {
    EVENTS_RETENTION_COUNT: '10',
  });
  const clients: Redis[] = [];
  const connect = () => {
    const client = new Redis(testInfrastructure().redisUrl, { maxRetriesPerRequest: 2 });
    clients.push(client);
    return client;
  };
  const publisher = () =>
    new OrgEvents(
      connect(),
      config,
      { warn: () => undefined } as unknown as PinoLogger,
      { registry: new Registry() } as unknown as MetricsService,
    );
  let redis: Redis;

  beforeAll(() => {
    redis = connect();
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await redisPrefix.clear();
  });

  it('announces in stream order even with concurrent publishers on separate connections', async () => {
    const orgId = 'org-order';
    const subscriber = connect();
    const seen: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => {
      const record = decodeAnnouncement(message);
      if (record) seen.push(record.id);
    });
    await subscriber.subscribe(orgEventsChannel(redisPrefix.prefix, orgId));
    const [one, two] = [publisher(), publisher()];
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? one : two).publish(orgId, 'a2a.call', {
          callerId: 'a',
          targetId: 'b',
          durationMs: i,
        }),
      ),
    );
    await eventually('every announcement', async () => (seen.length === 200 ? true : undefined));
    for (let i = 1; i < seen.length; i++) expect(compareStreamIds(seen[i - 1], seen[i])).toBe(-1);

    // The stream keeps about the configured count (trimmed a node at a time), newest included.
    const key = orgEventsKey(redisPrefix.prefix, orgId);
    const length = await redis.xlen(key);
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(200);
    const [[newest]] = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
    expect(newest).toBe(seen[seen.length - 1]);
  });

  it('keeps each org in a stream of its own', async () => {
    const events = publisher();
    await events.workspaceStatus('org-x', { workspaceId: 'ws-x', status: 'online' });
    await events.workspaceStatus('org-y', { workspaceId: 'ws-y', status: 'offline' });
    const x = await redis.xrange(orgEventsKey(redisPrefix.prefix, 'org-x'), '-', '+');
    const y = await redis.xrange(orgEventsKey(redisPrefix.prefix, 'org-y'), '-', '+');
    expect(x.map(([, fields]) => fields.join(' '))).toEqual([
      'type workspace.status data {"workspaceId":"ws-x","status":"online"}',
    ]);
    expect(y).toHaveLength(1);
    expect(y[0][1].join(' ')).toContain('ws-y');
  });
});
