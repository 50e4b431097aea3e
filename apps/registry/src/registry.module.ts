import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@molecule/config';
import { CoreModule } from '@molecule/platform';
import type { DestinationStream } from 'pino';
import { HeartbeatsModule } from './heartbeats/heartbeats.module';
import { RegistrationModule } from './registration/registration.module';

@Module({})
export class RegistryModule {
  static forRoot(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return {
      module: RegistryModule,
      imports: [
        CoreModule.forRoot({ config, queues: true, logDestination }),
        RegistrationModule,
        HeartbeatsModule,
      ],
    };
  }
}
