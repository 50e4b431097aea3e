import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@molecule/config';
import { CoreModule } from '@molecule/platform';
import type { DestinationStream } from 'pino';

@Module({})
export class RegistryModule {
  static forRoot(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return {
      module: RegistryModule,
      imports: [CoreModule.forRoot({ config, queues: true, logDestination })],
    };
  }
}
