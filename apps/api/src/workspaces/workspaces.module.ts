import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { OrgsModule } from '../orgs/orgs.module';
import { RuntimesModule } from '../runtimes/runtimes.module';
import { SecretsModule } from '../secrets/secrets.module';
import { WorkspacesController } from './workspaces.controller';
import { WorkspacesService } from './workspaces.service';
import { OperationQueueModule } from '../operations/operation-queue';

@Module({
  imports: [AuditModule, OperationQueueModule, OrgsModule, RuntimesModule, SecretsModule],
  controllers: [WorkspacesController],
  providers: [WorkspacesService],
})
export class WorkspacesModule {}
