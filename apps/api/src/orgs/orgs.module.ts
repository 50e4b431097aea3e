import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { DeletionService } from './deletion.service';
import { OrgStatusController } from './org-status.controller';
import { OrgsController } from './orgs.controller';
import { OrgsService } from './orgs.service';
import { ProvisioningService } from './provisioning.service';

@Module({
  imports: [AuditModule, IdempotencyModule],
  controllers: [OrgsController, OrgStatusController],
  providers: [OrgsService, ProvisioningService, DeletionService],
  exports: [OrgsService],
})
export class OrgsModule {}
