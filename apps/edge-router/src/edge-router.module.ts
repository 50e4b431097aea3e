import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@molecule/config';
import { CoreModule } from '@molecule/platform';
import type { DestinationStream } from 'pino';

@Module({})
export class EdgeRouterModule {
  static forRoot(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return {
      module: EdgeRouterModule,
      imports: [CoreModule.forRoot({ config, queues: false, logDestination })],
    };
  }
}
