import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@molecule/config';
import { CoreModule } from '@molecule/platform';
import type { DestinationStream } from 'pino';
import { OrgsModule } from './orgs/orgs.module';
import { ReconcileModule } from './reconcile/reconcile.module';

@Module({})
export class ProvisionerModule {
  static forRoot(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return {
      module: ProvisionerModule,
      imports: [
        CoreModule.forRoot({ config, queues: true, logDestination }),
        OrgsModule,
        ReconcileModule,
      ],
    };
  }
}
