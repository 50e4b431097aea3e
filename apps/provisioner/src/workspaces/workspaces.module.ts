import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { ComputeModule } from '../compute/compute.module';
import { OperationRunner } from '../operations/operation-runner';
import { WorkspaceDeleter } from './workspace-deleter.service';
import { WorkspaceProvisioner } from './workspace-provisioner.service';

@Module({
  imports: [AuditModule, ComputeModule],
  providers: [OperationRunner, WorkspaceProvisioner, WorkspaceDeleter],
  exports: [WorkspaceProvisioner, WorkspaceDeleter],
})
export class WorkspacesModule {}
