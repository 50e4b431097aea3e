import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { JOB_POLICY, JobName, QueueName } from '@molecule/jobs';
import type { Job, Queue } from 'bullmq';
import { HealthSweeper } from './health-sweeper.service';

/** Runs the health sweep on a BullMQ job scheduler: one run per tick whatever the replica count. */
@Processor(QueueName.Health, { concurrency: 1 })
export class HealthProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(QueueName.Health) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sweeper: HealthSweeper,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    const { attempts, removeOnComplete, removeOnFail } = JOB_POLICY[JobName.HealthSweep];
    await this.queue.upsertJobScheduler(
      JobName.HealthSweep,
      { every: Math.round(this.config.registry.sweepIntervalSeconds * 1000) },
      {
        name: JobName.HealthSweep,
        data: { idempotencyKey: JobName.HealthSweep },
        opts: { attempts, removeOnComplete, removeOnFail },
      },
    );
  }

  async process(job: Job): Promise<unknown> {
    if (job.name !== JobName.HealthSweep) throw new Error(`unexpected health job ${job.name}`);
    return this.sweeper.sweep();
  }
}
