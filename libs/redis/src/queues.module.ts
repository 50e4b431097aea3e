import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { QUEUE_NAMES, queuePrefix } from '@molecule/jobs';

/** Registers every queue of the job contracts, each under its own hash-tagged prefix. */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        connection: {
          url: config.redis.url.reveal(),
          connectionName: `molecule-${config.service}-bullmq`,
        },
      }),
    }),
    ...QUEUE_NAMES.map((name) =>
      BullModule.registerQueueAsync({
        name,
        inject: [APP_CONFIG],
        useFactory: (config: AppConfig) => ({ prefix: queuePrefix(config.redis.prefix, name) }),
      }),
    ),
  ],
  exports: [BullModule],
})
export class QueuesModule {}
