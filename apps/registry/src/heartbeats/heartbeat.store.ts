import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { REDIS, redisKey } from '@molecule/redis';
import type { ChainableCommander, Redis } from 'ioredis';
import type { HeartbeatDto } from './heartbeat.dto';

export interface Beat {
  workspaceId: string;
  at: number;
  status: 'ok' | 'degraded';
  activeTasks: number;
  errorRate: number;
}

/** A beat waiting for the next write to Redis, with the caller waiting for that write. */
interface PendingBeat {
  workspaceId: string;
  beat: HeartbeatDto;
  at: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Heartbeats land in Redis (no Postgres write); the health sweep flushes the latest beat of each
 * workspace to Postgres in one batch. A sorted set indexes workspaces by their last beat so a
 * flush reads only those that beat since the last one.
 */
@Injectable()
export class HeartbeatStore {
  private readonly index: string;
  /** Spend reported since the last flush: one hash, workspace id → cents. */
  private readonly spend: string;
  /** A beat outlives a few missed intervals, so the sweep still finds the last one. */
  private readonly ttlSeconds: number;
  private pending: PendingBeat[] = [];

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.index = redisKey(config, 'heartbeats');
    this.spend = redisKey(config, 'heartbeat-spend');
    const { heartbeatIntervalSeconds, missedBeforeOffline } = config.registry;
    this.ttlSeconds = Math.ceil(heartbeatIntervalSeconds * missedBeforeOffline * 4) + 60;
  }

  /**
   * Stores a beat; resolves once Redis has it. Beats recorded in the same turn of the event loop
   * (under load, every request a socket read brought in) share one pipeline: one write to the
   * socket and one round trip for all of them instead of one each, which is most of what a beat
   * cost. A plain pipeline, no MULTI/EXEC: the writes are independent, and a partial write is
   * repaired by the next beat.
   */
  record(workspaceId: string, beat: HeartbeatDto, at = Date.now()): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.write());
      this.pending.push({ workspaceId, beat, at, resolve, reject });
    });
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      await this.pipelineOf(batch).exec();
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    for (const pending of batch) pending.resolve();
  }

  private pipelineOf(batch: PendingBeat[]): ChainableCommander {
    const pipeline = this.redis.pipeline();
    for (const { workspaceId, beat, at } of batch) {
      const key = this.beatKey(workspaceId);
      if (beat.usage?.costCents) pipeline.hincrby(this.spend, workspaceId, beat.usage.costCents);
      pipeline
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
        .expire(key, this.ttlSeconds)
        .zadd(this.index, at, workspaceId);
    }
    return pipeline;
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
