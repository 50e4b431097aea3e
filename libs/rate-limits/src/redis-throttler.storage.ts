import { Inject, Injectable } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { REDIS } from '@molecule/redis';
import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';

/** What `ThrottlerStorage.increment` answers (the type is not exported by @nestjs/throttler). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * A fixed-window counter in one step, so replicas sharing the key never lose an update: count
 * the hit, start the window on the first one, and on the first hit over the limit stretch the
 * window to the block duration when that is longer. A key without an expiry (left by a crash
 * between commands in an older version, or written by hand) gets one, so no bucket lives forever.
 *
 * KEYS[1] the bucket; ARGV window ms, limit, block ms. Returns {hits, ms until the window ends}.
 */
const HIT_SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = tonumber(ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ttl)
end
if hits == tonumber(ARGV[2]) + 1 and tonumber(ARGV[3]) > ttl then
  ttl = tonumber(ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {hits, ttl}
`;
const HIT_SHA = createHash('sha1').update(HIT_SCRIPT).digest('hex');

/** ioredis states in which a command would only wait in the offline queue. */
const DISCONNECTED = new Set(['reconnecting', 'close', 'end']);

/** Redis could not count the request; the guard lets the request through (fail open). */
export class RateLimitStoreError extends Error {
  override name = 'RateLimitStoreError';
}

/**
 * `@nestjs/throttler` storage on the service's shared ioredis client, under `<REDIS_PREFIX>:`
 * (the guard builds prefixed keys; never ioredis `keyPrefix`). One round trip per counted
 * request, bounded by `RATE_LIMIT_REDIS_TIMEOUT_MS`; while Redis is known to be down it fails at
 * once instead of queueing.
 */
@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    _throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    if (DISCONNECTED.has(this.redis.status)) {
      throw new RateLimitStoreError(`Redis is not connected (${this.redis.status})`);
    }
    const [hits, remainingMs] = await this.withDeadline(
      this.hit(key, [String(Math.ceil(ttl)), String(limit), String(Math.ceil(blockDuration))]),
    );
    const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
    const isBlocked = hits > limit;
    return {
      totalHits: hits,
      timeToExpire: seconds,
      isBlocked,
      timeToBlockExpire: isBlocked ? seconds : 0,
    };
  }

  private async hit(key: string, args: string[]): Promise<[number, number]> {
    let reply: unknown;
    try {
      reply = await this.redis.evalsha(HIT_SHA, 1, key, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      reply = await this.redis.eval(HIT_SCRIPT, 1, key, ...args);
    }
    const [hits, remainingMs] = reply as [number, number];
    return [Number(hits), Number(remainingMs)];
  }

  private async withDeadline<T>(work: Promise<T>): Promise<T> {
    const { redisTimeoutMs } = this.config.rateLimit;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new RateLimitStoreError(`Redis did not answer within ${redisTimeoutMs} ms`)),
        redisTimeoutMs,
      );
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}
