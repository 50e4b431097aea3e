import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Module } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from '@molecule/logging';
import { operationJob, QueueName, type OperationRef } from '@molecule/jobs';
import type { Queue } from 'bullmq';

/**
 * Hands committed operations to the provisioner. Called after the transaction that wrote the
 * operation: if enqueueing fails, the operation stays `queued` and the provisioner's reaper
 * enqueues it later, so a Redis hiccup never loses work or fails the request.
 */
@Injectable()
export class OperationQueue {
  constructor(
    @InjectQueue(QueueName.Provisioning) private readonly queue: Queue,
    @InjectPinoLogger(OperationQueue.name) private readonly logger: PinoLogger,
  ) {}

  async enqueue(operation: OperationRef): Promise<void> {
    const { name, data, opts } = operationJob(operation);
    try {
      await this.queue.add(name, data, opts);
    } catch (error) {
      this.logger.warn(
        { err: error, operationId: operation.id },
        'Enqueue failed; the reaper will retry',
      );
    }
  }
}

@Module({ providers: [OperationQueue], exports: [OperationQueue] })
export class OperationQueueModule {}
