import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { ComputeModule } from '../compute/compute.module';
import { OperationRunner } from '../operations/operation-runner';
import { RoutesModule } from '../routes/routes.module';
import { WorkspacesModule } from '../workspaces/workspaces.module';
import { OrgDeleter } from './org-deleter.service';
import { OrgProvisioner } from './org-provisioner.service';
import { ProvisioningProcessor } from './provisioning.processor';
import { OperationFailures } from '../operations/operation-failures';

@Module({
  imports: [AuditModule, ComputeModule, RoutesModule, WorkspacesModule],
  providers: [
    OperationRunner,
    OperationFailures,
    OrgProvisioner,
    OrgDeleter,
    ProvisioningProcessor,
  ],
})
export class OrgsModule {}
