import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testInfrastructure, type AppConfig } from '@molecule/config';
import { createTestRedisPrefix, eventually } from '@molecule/testing';
import { Redis } from 'ioredis';
import { RateLimitStoreError, RedisThrottlerStorage } from './redis-throttler.storage';

describe('RedisThrottlerStorage (integration)', () => {
  const prefix = createTestRedisPrefix();
  const config = { rateLimit: { redisTimeoutMs: 500 } } as AppConfig;
  let first: Redis;
  let second: Redis;
  let storage: RedisThrottlerStorage;
  let replica: RedisThrottlerStorage;
  let n = 0;
  const key = () => `${prefix.prefix}:rate-limit:test:${++n}`;

  beforeAll(() => {
    first = new Redis(testInfrastructure().redisUrl, { maxRetriesPerRequest: 1 });
    second = new Redis(testInfrastructure().redisUrl, { maxRetriesPerRequest: 1 });
    storage = new RedisThrottlerStorage(first, config);
    replica = new RedisThrottlerStorage(second, config);
  });

  afterAll(async () => {
    first.disconnect();
    second.disconnect();
    await prefix.clear();
  });

  it('counts hits in a window and blocks past the limit until the window ends', async () => {
    const bucket = key();
    const hits = [];
    for (let i = 0; i < 4; i++) hits.push(await storage.increment(bucket, 60_000, 3, 60_000, 'x'));
    expect(hits.map((h) => [h.totalHits, h.isBlocked])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
    expect(hits[0].timeToExpire).toBe(60);
    expect(hits[0].timeToBlockExpire).toBe(0);
    expect(hits[3].timeToBlockExpire).toBeGreaterThanOrEqual(59);
    expect(hits[3].timeToBlockExpire).toBeLessThanOrEqual(60);
    const ttl = await first.pttl(bucket);
    expect(ttl).toBeGreaterThan(58_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('starts a new window once the old one has expired', async () => {
    const bucket = key();
    await storage.increment(bucket, 150, 1, 150, 'x');
    expect((await storage.increment(bucket, 150, 1, 150, 'x')).isBlocked).toBe(true);
    await eventually('the window to expire', async () =>
      (await first.exists(bucket)) === 0 ? true : undefined,
    );
    expect(await storage.increment(bucket, 150, 1, 150, 'x')).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });
  });

  it('stretches the window to a longer block duration on the first hit over the limit', async () => {
    const bucket = key();
    await storage.increment(bucket, 10_000, 1, 120_000, 'x');
    expect(await first.pttl(bucket)).toBeLessThanOrEqual(10_000);
    const blocked = await storage.increment(bucket, 10_000, 1, 120_000, 'x');
    expect(blocked.isBlocked).toBe(true);
    expect(blocked.timeToBlockExpire).toBe(120);
    expect(await first.pttl(bucket)).toBeGreaterThan(10_000);
  });

  it('gives a bucket without an expiry one, so no counter lives forever', async () => {
    const bucket = key();
    await first.set(bucket, '5');
    const record = await storage.increment(bucket, 30_000, 10, 30_000, 'x');
    expect(record.totalHits).toBe(6);
    expect(await first.pttl(bucket)).toBeGreaterThan(0);
  });

  it('loses no hit when replicas count the same bucket at once', async () => {
    const bucket = key();
    const records = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? storage : replica).increment(bucket, 60_000, 25, 60_000, 'x'),
      ),
    );
    const totals = records.map((r) => r.totalHits).sort((a, b) => a - b);
    expect(totals).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(records.filter((r) => r.isBlocked)).toHaveLength(15);
  });

  it('fails at once, without queueing, while its client is disconnected', async () => {
    const closed = new Redis(testInfrastructure().redisUrl, { lazyConnect: true });
    closed.disconnect();
    const started = Date.now();
    await expect(
      new RedisThrottlerStorage(closed, config).increment(key(), 1_000, 1, 1_000, 'x'),
    ).rejects.toBeInstanceOf(RateLimitStoreError);
    expect(Date.now() - started).toBeLessThan(100);
  });
});
