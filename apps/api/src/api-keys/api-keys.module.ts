import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { OrgsModule } from '../orgs/orgs.module';
import { ApiKeysService } from './api-keys.service';
import { OrgApiKeysController } from './org-api-keys.controller';
import { PartnerKeysController } from './partner-keys.controller';

@Module({
  imports: [AuditModule, OrgsModule],
  controllers: [PartnerKeysController, OrgApiKeysController],
  providers: [ApiKeysService],
})
export class ApiKeysModule {}
