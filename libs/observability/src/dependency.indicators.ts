import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bullmq';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { REDIS } from '@molecule/redis';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

const TIMEOUT_MS = 1_000;

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error('timed out')), TIMEOUT_MS).unref(),
    ),
  ]);
}

/** Redis and BullMQ checks; Postgres uses terminus' own TypeORM indicator. */
@Injectable()
export class DependencyIndicators {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async redisPing(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check('redis');
    try {
      await withTimeout(this.redis.ping());
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }

  async queue(name: string): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(`queue:${name}`);
    try {
      const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      // A real queue read: it proves the connection and BullMQ's scripts both work.
      await withTimeout(queue.getJobCounts('waiting'));
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
