import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { SessionTicketsService } from './session-tickets.service';
import { SessionsController } from './sessions.controller';

@Module({
  imports: [AuditModule],
  controllers: [SessionsController],
  providers: [SessionTicketsService],
})
export class SessionsModule {}
