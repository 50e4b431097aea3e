import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { OrgsModule } from '../orgs/orgs.module';
import { SecretsController } from './secrets.controller';
import { SecretsService } from './secrets.service';

@Module({
  imports: [AuditModule, OrgsModule],
  controllers: [SecretsController],
  providers: [SecretsService],
  exports: [SecretsService],
})
export class SecretsModule {}
