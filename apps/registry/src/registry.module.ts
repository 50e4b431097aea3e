import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import type { AppConfig } from '@molecule/config';
import { CoreModule } from '@molecule/platform';
import type { DestinationStream } from 'pino';
import { A2aModule } from './a2a/a2a.module';
import { HEARTBEAT_PATH } from './heartbeats/heartbeat.route';
import { HeartbeatsModule } from './heartbeats/heartbeats.module';
import { MemoriesModule } from './memories/memories.module';
import { RegistrationModule } from './registration/registration.module';

@Module({})
export class RegistryModule {
  static forRoot(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return {
      module: RegistryModule,
      imports: [
        CoreModule.forRoot({
          config,
          queues: true,
          logDestination,
          // Each workspace beats every interval: only failed beats are logged (by the route).
          unloggedRoutes: [{ path: HEARTBEAT_PATH, method: RequestMethod.POST }],
        }),
        RegistrationModule,
        HeartbeatsModule,
        MemoriesModule,
        A2aModule,
      ],
    };
  }
}
