import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { HealthProcessor } from './health.processor';
import { HealthSweeper } from './health-sweeper.service';
import { HeartbeatController } from './heartbeat.controller';
import { HeartbeatStore } from './heartbeat.store';

@Module({
  imports: [AuditModule],
  controllers: [HeartbeatController],
  providers: [HeartbeatStore, HealthSweeper, HealthProcessor],
  exports: [HeartbeatStore],
})
export class HeartbeatsModule {}
