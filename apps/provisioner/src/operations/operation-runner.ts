import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { OperationsRepository, OperationStatus } from '@molecule/database';
import { UnrecoverableError } from 'bullmq';
import { operationsChannel } from '@molecule/jobs';
import { REDIS } from '@molecule/redis';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';

type StepResult = Record<string, unknown> | void;

/**
 * Runs the steps of an operation, recording each one's start, end, result or error, and
 * announcing every change on Redis (the API streams progress from it). A step that finished in
 * an earlier attempt is skipped and its recorded result returned, so a retried or resumed job
 * continues where the last one stopped.
 */
@Injectable()
export class OperationRunner {
  readonly operations: OperationsRepository;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.operations = new OperationsRepository(dataSource);
  }

  async step<T extends StepResult>(
    operationId: string,
    name: string,
    work: () => Promise<T>,
  ): Promise<T> {
    const operation = await this.operations.find(operationId);
    // Superseded (a delete or restart took over) or finished elsewhere: stop at this boundary.
    if (operation?.status !== OperationStatus.Running) {
      throw new UnrecoverableError(`operation ${operationId} is ${operation?.status ?? 'gone'}`);
    }
    const done = operation.steps.find((s) => s.name === name && s.endedAt && !s.error);
    if (done) return done.result as T;
    await this.operations.startStep(operationId, name);
    await this.announce(operationId);
    try {
      const result = await work();
      await this.operations.endStep(operationId, name, { result: result ?? undefined });
      return result;
    } catch (error) {
      await this.operations.endStep(operationId, name, { error: describe(error) });
      throw error;
    } finally {
      await this.announce(operationId);
    }
  }

  /** Tells API replicas that the operation changed (best effort: they also poll). */
  async announce(operationId: string): Promise<void> {
    await this.redis
      .publish(operationsChannel(this.config.redis.prefix), operationId)
      .catch(() => 0);
  }
}

/** An error message fit for an operation row: no stack, bounded length. */
export function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 500 ? `${message.slice(0, 497)}...` : message;
}
