import { beforeEach, describe, expect, it } from '@jest/globals';
import { CompositeRoutePublisher, RoutePublishError } from './composite-route.publisher';
import {
  assertGeneration,
  assertSlug,
  decodeRouteEntry,
  encodeRouteEntry,
} from './route-entry.codec';
import { describeRoutePublisherContract, exampleRouteEntry } from './route-publisher.contract';
import type { RouteEntry, RoutePublisher } from './route-publisher';

/** An in-memory store with the port's generation rules, recording the order of calls. */
class MemoryPublisher implements RoutePublisher {
  readonly entries = new Map<string, string>();
  failWith: Error | undefined;

  constructor(
    readonly name: RoutePublisher['name'],
    private readonly calls: string[] = [],
  ) {}

  async publish(entry: RouteEntry): Promise<boolean> {
    const json = encodeRouteEntry(entry);
    this.calls.push(`${this.name}.publish`);
    if (this.failWith) throw this.failWith;
    const current = await this.get(entry.slug);
    if (current && current.generation > entry.generation) return false;
    this.entries.set(entry.slug, json);
    return true;
  }

  async remove(slug: string, generation: number): Promise<boolean> {
    assertSlug(slug);
    assertGeneration(generation);
    this.calls.push(`${this.name}.remove`);
    if (this.failWith) throw this.failWith;
    const current = await this.get(slug);
    if (current && current.generation > generation) return false;
    this.entries.delete(slug);
    return true;
  }

  async get(slug: string): Promise<RouteEntry | undefined> {
    const raw = this.entries.get(slug);
    return raw === undefined ? undefined : decodeRouteEntry(raw, slug);
  }
}

describeRoutePublisherContract(
  'composite of in-memory stores',
  () =>
    new CompositeRoutePublisher([new MemoryPublisher('cloudflare'), new MemoryPublisher('redis')]),
);

describe('CompositeRoutePublisher', () => {
  let calls: string[];
  let redis: MemoryPublisher;
  let kv: MemoryPublisher;
  let composite: CompositeRoutePublisher;

  beforeEach(() => {
    calls = [];
    redis = new MemoryPublisher('redis', calls);
    kv = new MemoryPublisher('cloudflare', calls);
    // Given KV first on purpose: Redis, what the edge router reads, must still go first.
    composite = new CompositeRoutePublisher([kv, redis]);
  });

  it('writes Redis first, then KV, and reads Redis', async () => {
    const entry = exampleRouteEntry('acme', 1);
    await expect(composite.publish(entry)).resolves.toBe(true);
    await expect(composite.remove('acme', 1)).resolves.toBe(true);
    expect(calls).toEqual([
      'redis.publish',
      'cloudflare.publish',
      'redis.remove',
      'cloudflare.remove',
    ]);
    expect(composite.name).toBe('redis');

    redis.entries.set('only-redis', encodeRouteEntry(exampleRouteEntry('only-redis', 1)));
    kv.entries.set('only-kv', encodeRouteEntry(exampleRouteEntry('only-kv', 1)));
    await expect(composite.get('only-redis')).resolves.toMatchObject({ slug: 'only-redis' });
    await expect(composite.get('only-kv')).resolves.toBeUndefined();
  });

  it('does not pass on a change the primary refused', async () => {
    await composite.publish(exampleRouteEntry('acme', 5));
    calls.length = 0;
    await expect(composite.publish(exampleRouteEntry('acme', 4))).resolves.toBe(false);
    await expect(composite.remove('acme', 4)).resolves.toBe(false);
    expect(calls).toEqual(['redis.publish', 'redis.remove']);
    expect((await kv.get('acme'))?.generation).toBe(5);
  });

  it('returns true when the primary wrote even if a secondary holds a newer entry', async () => {
    kv.entries.set('acme', encodeRouteEntry(exampleRouteEntry('acme', 9)));
    await expect(composite.publish(exampleRouteEntry('acme', 2))).resolves.toBe(true);
    expect((await kv.get('acme'))?.generation).toBe(9);
  });

  it('throws after the primary wrote when a secondary fails, and a retry repairs it', async () => {
    const other = new MemoryPublisher('cloudflare', calls);
    composite = new CompositeRoutePublisher([redis, kv, other]);
    kv.failWith = new Error('KV is down');
    const entry = exampleRouteEntry('acme', 3);
    const error = await composite.publish(entry).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoutePublishError);
    expect((error as RoutePublishError).message).toBe(
      'Route publish of acme reached redis but failed on cloudflare: KV is down',
    );
    expect((error as RoutePublishError).failures).toHaveLength(1);
    // The primary has it, and the secondary after the failing one was still written.
    await expect(redis.get('acme')).resolves.toEqual(entry);
    await expect(other.get('acme')).resolves.toEqual(entry);

    kv.failWith = undefined;
    await expect(composite.publish(entry)).resolves.toBe(true);
    await expect(kv.get('acme')).resolves.toEqual(entry);
  });

  it('uses the first publisher as primary when none is Redis, and needs at least one', () => {
    expect(new CompositeRoutePublisher([kv]).name).toBe('cloudflare');
    expect(() => new CompositeRoutePublisher([])).toThrow(/at least one/);
  });
});
