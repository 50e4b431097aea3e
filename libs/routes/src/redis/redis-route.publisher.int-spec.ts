import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testInfrastructure } from '@molecule/config';
import { createTestRedisPrefix } from '@molecule/testing';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { RouteEntryFormatError } from '../route-entry.codec';
import { describeRoutePublisherContract, exampleRouteEntry } from '../route-publisher.contract';
import {
  RedisRoutePublisher,
  RouteInvalidations,
  routeChannel,
  routeTableKey,
  type RouteInvalidation,
  type RouteInvalidationSubscription,
} from './redis-route.publisher';

const testPrefix = createTestRedisPrefix();
const { prefix } = testPrefix;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(testInfrastructure().redisUrl, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await testPrefix.clear();
  await redis.quit();
});

describeRoutePublisherContract('redis', () => new RedisRoutePublisher(redis, prefix));

/** Collects messages and hands them out in order, waiting (up to a deadline) for the next. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((item: T) => void)[] = [];

  push = (item: T): void => {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  };

  next(timeoutMs = 5_000): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('no message before the deadline')),
        timeoutMs,
      );
      this.waiters.push((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }
}

const uniqueSlug = (label: string) => `${label}-${randomBytes(3).toString('hex')}`;

describe('RedisRoutePublisher', () => {
  let publisher: RedisRoutePublisher;

  beforeAll(() => {
    publisher = new RedisRoutePublisher(redis, prefix);
  });

  it('keeps the table in one hash under the prefix, a JSON entry per slug', async () => {
    const slug = uniqueSlug('layout');
    const entry = exampleRouteEntry(slug, 4);
    await publisher.publish(entry);
    expect(routeTableKey(prefix)).toBe(`${prefix}:routes`);
    expect(routeChannel(prefix)).toBe(`${prefix}:routes:changed`);
    expect(await redis.type(routeTableKey(prefix))).toBe('hash');
    const raw = await redis.hget(routeTableKey(prefix), slug);
    expect(JSON.parse(raw ?? 'null')).toEqual(entry);
  });

  it('ends with the highest generation when two publishers race', async () => {
    const slug = uniqueSlug('race');
    const other = new Redis(testInfrastructure().redisUrl, { maxRetriesPerRequest: 1 });
    const inbox = new Inbox<RouteInvalidation>();
    const subscription = await RouteInvalidations.subscribe(
      testInfrastructure().redisUrl,
      prefix,
      (s, generation) => {
        if (s === slug) inbox.push({ slug: s, generation });
      },
    );
    try {
      const racers = [publisher, new RedisRoutePublisher(other, prefix)];
      // Generations 1..60 in a shuffled order, alternating between the two connections.
      const generations = Array.from({ length: 60 }, (_, i) => i + 1).sort(
        () => Math.random() - 0.5,
      );
      const results = await Promise.all(
        generations.map((generation, i) =>
          racers[i % 2].publish(exampleRouteEntry(slug, generation)),
        ),
      );
      expect((await publisher.get(slug))?.generation).toBe(60);
      // Every accepted write was announced, in the order the writes happened, so the
      // generations a subscriber hears never go down and end with the winner.
      const accepted = results.filter(Boolean).length;
      const heard: number[] = [];
      for (let i = 0; i < accepted; i += 1) heard.push((await inbox.next()).generation);
      expect(heard).toEqual([...heard].sort((a, b) => a - b));
      expect(heard.at(-1)).toBe(60);
    } finally {
      await subscription.close();
      await other.quit();
    }
  });

  it('refuses to read a corrupt stored value without echoing it, and lets a publish replace it', async () => {
    const slug = uniqueSlug('corrupt');
    await redis.hset(routeTableKey(prefix), slug, '{"credential":"leaky-marker"');
    const error = await publisher.get(slug).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouteEntryFormatError);
    expect((error as Error).message).not.toContain('leaky-marker');
    await expect(publisher.publish(exampleRouteEntry(slug, 1))).resolves.toBe(true);
    await expect(publisher.get(slug)).resolves.toMatchObject({ generation: 1 });
  });
});

describe('RouteInvalidations', () => {
  let publisher: RedisRoutePublisher;
  let subscription: RouteInvalidationSubscription;
  const inbox = new Inbox<RouteInvalidation>();
  const errors: Error[] = [];
  const reconnects = new Inbox<true>();
  const connectionName = `route-invalidations-test-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    publisher = new RedisRoutePublisher(redis, prefix);
    const url = new URL(testInfrastructure().redisUrl);
    subscription = await RouteInvalidations.subscribe(
      { host: url.hostname, port: Number(url.port || 6379), connectionName },
      prefix,
      (slug, generation) => inbox.push({ slug, generation }),
      { onReconnect: () => reconnects.push(true), onError: (e) => errors.push(e) },
    );
  });

  afterAll(async () => {
    await subscription.close();
  });

  it('delivers {slug, generation} on publish and on remove', async () => {
    const slug = uniqueSlug('notify');
    await publisher.publish(exampleRouteEntry(slug, 3, { status: 'provisioning' }));
    await expect(inbox.next()).resolves.toEqual({ slug, generation: 3 });
    await publisher.publish(exampleRouteEntry(slug, 3, { status: 'running' }));
    await expect(inbox.next()).resolves.toEqual({ slug, generation: 3 });
    await publisher.remove(slug, 3);
    await expect(inbox.next()).resolves.toEqual({ slug, generation: 3 });
  });

  it('announces nothing for a refused stale write or a remove that changed nothing', async () => {
    const slug = uniqueSlug('stale');
    await publisher.publish(exampleRouteEntry(slug, 7));
    await expect(inbox.next()).resolves.toEqual({ slug, generation: 7 });
    await expect(publisher.publish(exampleRouteEntry(slug, 6))).resolves.toBe(false);
    await expect(publisher.remove(slug, 5)).resolves.toBe(false);
    await expect(publisher.remove(uniqueSlug('absent'), 5)).resolves.toBe(true);
    // Messages on one channel arrive in order, so the next one heard is this marker.
    const marker = uniqueSlug('marker');
    await publisher.publish(exampleRouteEntry(marker, 1));
    await expect(inbox.next()).resolves.toEqual({ slug: marker, generation: 1 });
  });

  it('reports a malformed message and keeps listening', async () => {
    await redis.publish(routeChannel(prefix), 'not json');
    await redis.publish(routeChannel(prefix), JSON.stringify({ slug: 'x', generation: -1 }));
    const slug = uniqueSlug('after-garbage');
    await publisher.publish(exampleRouteEntry(slug, 2));
    await expect(inbox.next()).resolves.toEqual({ slug, generation: 2 });
    expect(errors).toHaveLength(2);
  });

  it('resubscribes after the connection drops, then calls onReconnect', async () => {
    const clients = (await redis.client('LIST')) as string;
    const line = clients.split('\n').find((l) => l.includes(` name=${connectionName} `));
    const id = /(?:^|\s)id=(\d+)/.exec(line ?? '')?.[1];
    expect(id).toBeDefined();
    await redis.client('KILL', 'ID', id!);
    await expect(reconnects.next(10_000)).resolves.toBe(true);
    const slug = uniqueSlug('after-reconnect');
    await publisher.publish(exampleRouteEntry(slug, 1));
    await expect(inbox.next()).resolves.toEqual({ slug, generation: 1 });
  });

  it('stops listening on close', async () => {
    const channel = routeChannel(prefix);
    const extra = await RouteInvalidations.subscribe(
      testInfrastructure().redisUrl,
      prefix,
      () => undefined,
    );
    const before = (await redis.pubsub('NUMSUB', channel)) as [string, number];
    await extra.close();
    await extra.close();
    const after = (await redis.pubsub('NUMSUB', channel)) as [string, number];
    expect(Number(after[1])).toBe(Number(before[1]) - 1);
  });
});
