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
  /** Spend reported since the last flush: one hash, workspace id → cents. */
  private readonly spend: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.index = redisKey(config, 'heartbeats');
    this.spend = redisKey(config, 'heartbeat-spend');
  }

  async record(workspaceId: string, beat: HeartbeatDto, at = Date.now()): Promise<void> {
    const key = this.beatKey(workspaceId);
    const ttl =
      Math.ceil(
        this.config.registry.heartbeatIntervalSeconds *
          this.config.registry.missedBeforeOffline *
          4,
      ) + 60;
    // A plain pipeline (one round trip, no MULTI/EXEC): the writes are independent, and a
    // partial write is repaired by the next beat.
    const pipeline = this.redis.pipeline();
    if (beat.usage?.costCents) pipeline.hincrby(this.spend, workspaceId, beat.usage.costCents);
    await pipeline
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

  /** Takes the spend reported since the last call (and resets it), in one atomic step. */
  async drainSpend(): Promise<Map<string, number>> {
    const results = await this.redis.multi().hgetall(this.spend).del(this.spend).exec();
    const reported = (results?.[0]?.[1] ?? {}) as Record<string, string>;
    return new Map(Object.entries(reported).map(([id, cents]) => [id, Number(cents)]));
  }

  /** Puts spend back after a flush failed, so none is lost. */
  async restoreSpend(spend: Map<string, number>): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const [id, cents] of spend) pipeline.hincrby(this.spend, id, cents);
    await pipeline.exec();
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
