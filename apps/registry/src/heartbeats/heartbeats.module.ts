import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { HealthProcessor } from './health.processor';
import { HealthSweeper } from './health-sweeper.service';
import { HeartbeatRoute } from './heartbeat.route';
import { HeartbeatStore } from './heartbeat.store';

@Module({
  imports: [AuditModule],
  // No controller: the heartbeat route is served by Fastify directly (see HeartbeatRoute).
  providers: [HeartbeatStore, HeartbeatRoute, HealthSweeper, HealthProcessor],
  exports: [HeartbeatStore],
})
export class HeartbeatsModule {}
