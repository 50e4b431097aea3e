import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { OperationsRepository } from '@molecule/database';
import { InjectPinoLogger, PinoLogger } from '@molecule/logging';
import { JOB_POLICY, JobName, operationJob, QueueName } from '@molecule/jobs';
import type { Queue } from 'bullmq';
import type { DataSource } from 'typeorm';
import { OperationFailures } from '../operations/operation-failures';

const LIVE_JOB_STATES = new Set([
  'active',
  'waiting',
  'delayed',
  'prioritized',
  'waiting-children',
]);

/**
 * Finds operations that stopped making progress: their job was never enqueued (the API crashed
 * between commit and enqueue), or was lost. It enqueues them again under the same job id; the
 * operation's recorded steps make the rerun continue where it stopped.
 */
@Injectable()
export class OperationReaper {
  private readonly operations: OperationsRepository;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    @InjectQueue(QueueName.Provisioning) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly failures: OperationFailures,
    @InjectPinoLogger(OperationReaper.name) private readonly logger: PinoLogger,
  ) {
    this.operations = new OperationsRepository(dataSource);
  }

  async reap(now = new Date()): Promise<{ requeued: string[]; failed: string[] }> {
    const before = new Date(now.getTime() - this.config.reconcile.operationStuckSeconds * 1000);
    const requeued: string[] = [];
    const failed: string[] = [];
    for (const operation of await this.operations.stale(before)) {
      const name = operation.kind as JobName;
      if (!(name in JOB_POLICY)) continue;
      const job = await this.queue.getJob(operation.id);
      if (job && LIVE_JOB_STATES.has(await job.getState())) continue;
      if (operation.attempts >= JOB_POLICY[name].attempts * 2) {
        await this.failures.giveUp(
          operation,
          operation.error ?? 'no progress after repeated attempts',
        );
        failed.push(operation.id);
        continue;
      }
      await job?.remove();
      const { data, opts } = operationJob(operation);
      await this.queue.add(name, data, opts);
      this.logger.warn(
        { operationId: operation.id, kind: operation.kind },
        'Stuck operation enqueued again',
      );
      requeued.push(operation.id);
    }
    return { requeued, failed };
  }
}
