import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { OrgEventFeedModule } from '@molecule/events';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { DeletionService } from './deletion.service';
import { OrgStatusController } from './org-status.controller';
import { OrgsController } from './orgs.controller';
import { OrgsService } from './orgs.service';
import { ProvisioningService } from './provisioning.service';
import { OperationQueueModule } from '../operations/operation-queue';

@Module({
  imports: [AuditModule, OperationQueueModule, IdempotencyModule, OrgEventFeedModule],
  controllers: [OrgsController, OrgStatusController],
  providers: [OrgsService, ProvisioningService, DeletionService],
  exports: [OrgsService],
})
export class OrgsModule {}
