import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { ComputeModule } from '../compute/compute.module';
import { OperationReaper } from './operation-reaper.service';
import { OrphanSweeper } from './orphan-sweeper.service';
import { ReconcileProcessor } from './reconcile.processor';
import { OperationFailures } from '../operations/operation-failures';

@Module({
  imports: [AuditModule, ComputeModule],
  providers: [OrphanSweeper, OperationReaper, OperationFailures, ReconcileProcessor],
  exports: [OrphanSweeper, OperationReaper],
})
export class ReconcileModule {}
