import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { JOB_POLICY, JobName, QueueName } from '@molecule/jobs';
import type { Job, Queue } from 'bullmq';
import { OperationReaper } from './operation-reaper.service';
import { OrphanSweeper } from './orphan-sweeper.service';

/**
 * Runs the reconcilers on a schedule. The schedules are BullMQ job schedulers, upserted by every
 * replica at start (idempotent), so exactly one run happens per tick whatever the replica count.
 */
@Processor(QueueName.Reconcile, { concurrency: 1 })
export class ReconcileProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(QueueName.Reconcile) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly orphans: OrphanSweeper,
    private readonly reaper: OperationReaper,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    const every = this.config.reconcile.intervalSeconds * 1000;
    for (const name of [JobName.OrphanSweep, JobName.OperationReap] as const) {
      const { attempts, removeOnComplete, removeOnFail } = JOB_POLICY[name];
      await this.queue.upsertJobScheduler(
        name,
        { every },
        {
          name,
          data: { idempotencyKey: name },
          opts: { attempts, removeOnComplete, removeOnFail },
        },
      );
    }
  }

  async process(job: Job): Promise<unknown> {
    switch (job.name) {
      case JobName.OrphanSweep:
        return this.orphans.sweep();
      case JobName.OperationReap:
        return this.reaper.reap();
      default:
        throw new Error(`unexpected reconcile job ${job.name}`);
    }
  }
}
