import { describe, expect, it, jest } from '@jest/globals';
import type { AppConfig } from '@molecule/config';
import type { PinoLogger } from '@molecule/logging';
import type { MetricsService } from '@molecule/observability';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { OrgEvents } from './org-events';

const config = {
  redis: { prefix: 'molecule-test-unit' },
  events: { retentionCount: 1000, retentionSeconds: 3600, heartbeatSeconds: 15 },
} as unknown as AppConfig;

type Call = (...args: unknown[]) => Promise<unknown>;

function setup(redis: { evalsha: jest.Mock<Call>; eval: jest.Mock<Call> }) {
  const registry = new Registry();
  const warn = jest.fn();
  const events = new OrgEvents(
    redis as unknown as Redis,
    config,
    { warn } as unknown as PinoLogger,
    { registry } as unknown as MetricsService,
  );
  const count = async (name: string) =>
    (await registry.getSingleMetric(name)!.get()).values.reduce((sum, v) => sum + v.value, 0);
  return { events, warn, count };
}

describe('OrgEvents', () => {
  it('appends and announces in one script on the org key, under the prefix', async () => {
    const redis = { evalsha: jest.fn<Call>(async () => '1-0'), eval: jest.fn<Call>() };
    const { events, count } = setup(redis);
    await events.publish('org-1', 'workspace.status', { workspaceId: 'ws-1', status: 'online' });
    expect(redis.evalsha).toHaveBeenCalledTimes(1);
    const [, keys, key, maxlen, windowMs, type, data, channel] = redis.evalsha.mock.calls[0];
    expect({ keys, key, maxlen, windowMs, type, channel }).toEqual({
      keys: 1,
      key: 'molecule-test-unit:events:org-1',
      maxlen: '1000',
      windowMs: '3600000',
      type: 'workspace.status',
      channel: 'molecule-test-unit:events:org-1:live',
    });
    expect(JSON.parse(data as string)).toEqual({ workspaceId: 'ws-1', status: 'online' });
    expect(await count('org_events_published_total')).toBe(1);
  });

  it('loads the script when Redis does not have it yet', async () => {
    const redis = {
      evalsha: jest.fn<Call>(async () => {
        throw new Error('NOSCRIPT No matching script.');
      }),
      eval: jest.fn<Call>(async () => '1-0'),
    };
    const { events } = setup(redis);
    await events.workspaceStatus('org-1', { workspaceId: 'ws-1', status: 'offline' });
    expect(redis.eval).toHaveBeenCalledTimes(1);
    expect(String(redis.eval.mock.calls[0][0])).toContain("redis.call('XADD'");
  });

  it('never throws into the caller: a Redis failure is logged and counted', async () => {
    const redis = {
      evalsha: jest.fn<Call>(async () => {
        throw new Error('Connection is closed.');
      }),
      eval: jest.fn<Call>(),
    };
    const { events, warn, count } = setup(redis);
    await expect(
      events.publish('org-1', 'a2a.call', { callerId: 'a', targetId: 'b', durationMs: 3 }),
    ).resolves.toBeUndefined();
    expect(redis.eval).not.toHaveBeenCalled();
    expect(await count('org_events_publish_failures_total')).toBe(1);
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ orgId: 'org-1', eventType: 'a2a.call' }),
      'org event not published',
    );
  });

  it('refuses a payload that is not ids, statuses and counts, without calling Redis', async () => {
    const redis = { evalsha: jest.fn<Call>(), eval: jest.fn<Call>() };
    const { events, count, warn } = setup(redis);
    await events.publish('org-1', 'memory.proposed', {
      memoryId: 'm-1',
      content: 'the whole memory text '.repeat(20),
    });
    expect(redis.evalsha).not.toHaveBeenCalled();
    expect(await count('org_events_publish_failures_total')).toBe(1);
    // The refusal names the field, never its value.
    expect(JSON.stringify(warn.mock.calls)).not.toContain('the whole memory text');
  });
});
