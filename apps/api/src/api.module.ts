import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@molecule/config';
import { CoreModule } from '@molecule/platform';
import type { DestinationStream } from 'pino';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuditApiModule } from './audit/audit.module';
import { EventsModule } from './events/events.module';
import { MemoriesModule } from './memories/memories.module';
import { MessagesModule } from './messages/messages.module';
import { OrgsModule } from './orgs/orgs.module';
import { QueueDashboardModule } from './queue-dashboard/queue-dashboard.module';
import { RuntimesModule } from './runtimes/runtimes.module';
import { SecretsModule } from './secrets/secrets.module';
import { SessionsModule } from './sessions/sessions.module';
import { WorkspacesModule } from './workspaces/workspaces.module';

@Module({})
export class ApiModule {
  static forRoot(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        CoreModule.forRoot({ config, queues: true, logDestination }),
        QueueDashboardModule,
        OrgsModule,
        ApiKeysModule,
        AuditApiModule,
        RuntimesModule,
        SecretsModule,
        MemoriesModule,
        SessionsModule,
        EventsModule,
        WorkspacesModule,
        MessagesModule,
      ],
    };
  }
}
