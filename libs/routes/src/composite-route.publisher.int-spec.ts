import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testInfrastructure } from '@molecule/config';
import { createTestRedisPrefix } from '@molecule/testing';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { CloudflareApiDouble } from './cloudflare/cloudflare-api.double';
import {
  CloudflareKvRoutePublisher,
  createCloudflareClient,
  routeKvKey,
} from './cloudflare/cloudflare-kv-route.publisher';
import { CompositeRoutePublisher } from './composite-route.publisher';
import { RedisRoutePublisher } from './redis/redis-route.publisher';
import { describeRoutePublisherContract, exampleRouteEntry } from './route-publisher.contract';

const testPrefix = createTestRedisPrefix();
const { prefix } = testPrefix;
const apiToken = `cf-test-token-${randomBytes(16).toString('hex')}`;
const accountId = randomBytes(16).toString('hex');
const namespaceId = randomBytes(16).toString('hex');
let redis: Redis;
let double: CloudflareApiDouble;
let redisPublisher: RedisRoutePublisher;
let kvPublisher: CloudflareKvRoutePublisher;

beforeAll(async () => {
  redis = new Redis(testInfrastructure().redisUrl, { maxRetriesPerRequest: 1 });
  double = await CloudflareApiDouble.start({ apiToken, accountId, namespaceId });
  redisPublisher = new RedisRoutePublisher(redis, prefix);
  kvPublisher = new CloudflareKvRoutePublisher({
    client: createCloudflareClient({ apiToken, baseUrl: double.baseUrl, maxRetries: 0 }),
    accountId,
    namespaceId,
  });
});

afterAll(async () => {
  await double.close();
  await testPrefix.clear();
  await redis.quit();
});

describeRoutePublisherContract(
  'composite of redis and cloudflare',
  () => new CompositeRoutePublisher([redisPublisher, kvPublisher]),
);

describe('CompositeRoutePublisher over Redis and Workers KV', () => {
  it('writes and removes the entry in both stores', async () => {
    const composite = new CompositeRoutePublisher([kvPublisher, redisPublisher]);
    const slug = `both-${randomBytes(3).toString('hex')}`;
    const entry = exampleRouteEntry(slug, 4);
    await expect(composite.publish(entry)).resolves.toBe(true);
    await expect(redisPublisher.get(slug)).resolves.toEqual(entry);
    expect(JSON.parse(double.value(routeKvKey(slug)) ?? 'null')).toEqual(entry);

    await expect(composite.remove(slug, 4)).resolves.toBe(true);
    await expect(redisPublisher.get(slug)).resolves.toBeUndefined();
    expect(double.value(routeKvKey(slug))).toBeUndefined();
  });

  it('keeps the Redis write when KV fails, and a retry fills KV in', async () => {
    const composite = new CompositeRoutePublisher([redisPublisher, kvPublisher]);
    const slug = `kv-down-${randomBytes(3).toString('hex')}`;
    const entry = exampleRouteEntry(slug, 1);
    double.failNext(503);
    await expect(composite.publish(entry)).rejects.toThrow(
      /reached redis but failed on cloudflare/,
    );
    await expect(redisPublisher.get(slug)).resolves.toEqual(entry);
    await expect(composite.publish(entry)).resolves.toBe(true);
    await expect(kvPublisher.get(slug)).resolves.toEqual(entry);
  });
});
