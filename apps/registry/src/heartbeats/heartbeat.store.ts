import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { REDIS, redisKey } from '@molecule/redis';
import type { Redis } from 'ioredis';
import type { HeartbeatDto } from './heartbeat.dto';

export interface Beat {
  workspaceId: string;
  at: number;
  status: 'ok' | 'degraded';
  activeTasks: number;
  errorRate: number;
}

/**
 * Heartbeats land in Redis (one pipelined round trip, no Postgres write); the health sweep
 * flushes the latest beat of each workspace to Postgres in one batch. A sorted set indexes
 * workspaces by their last beat so a flush reads only those that beat since the last one.
 */
@Injectable()
export class HeartbeatStore {
  private readonly index: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.index = redisKey(config, 'heartbeats');
  }

  async record(workspaceId: string, beat: HeartbeatDto, at = Date.now()): Promise<void> {
    const key = this.beatKey(workspaceId);
    const ttl =
      Math.ceil(
        this.config.registry.heartbeatIntervalSeconds *
          this.config.registry.missedBeforeOffline *
          4,
      ) + 60;
    // A plain pipeline (one round trip, no MULTI/EXEC): the three writes are independent, and
    // a partial write is repaired by the next beat.
    await this.redis
      .pipeline()
      .hset(
        key,
        'at',
        at,
        'status',
        beat.status,
        'activeTasks',
        beat.activeTasks,
        'errorRate',
        beat.errorRate,
        'usage',
        JSON.stringify(beat.usage ?? {}),
      )
      .expire(key, ttl)
      .zadd(this.index, at, workspaceId)
      .exec();
  }

  /** The latest beat of every workspace that beat after `since` (epoch ms). */
  async since(since: number): Promise<Beat[]> {
    const ids = await this.redis.zrangebyscore(this.index, `(${since}`, '+inf');
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids)
      pipeline.hmget(this.beatKey(id), 'at', 'status', 'activeTasks', 'errorRate');
    const rows = (await pipeline.exec()) ?? [];
    return ids.flatMap((workspaceId, i) => {
      const [at, status, activeTasks, errorRate] = (rows[i]?.[1] as (string | null)[]) ?? [];
      if (!at) return [];
      return [
        {
          workspaceId,
          at: Number(at),
          status: status === 'degraded' ? 'degraded' : 'ok',
          activeTasks: Number(activeTasks),
          errorRate: Number(errorRate),
        },
      ];
    });
  }

  /** Drops index entries older than `before` (their workspaces went quiet). */
  async prune(before: number): Promise<void> {
    await this.redis.zremrangebyscore(this.index, '-inf', `(${before}`);
  }

  async forget(workspaceId: string): Promise<void> {
    await this.redis.multi().del(this.beatKey(workspaceId)).zrem(this.index, workspaceId).exec();
  }

  private beatKey(workspaceId: string): string {
    return redisKey(this.config, 'heartbeat', workspaceId);
  }
}
