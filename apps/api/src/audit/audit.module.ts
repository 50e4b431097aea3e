import { Module } from '@nestjs/common';
import { AuditModule as AuditLibModule } from '@molecule/audit';
import { OrgsModule } from '../orgs/orgs.module';
import { AuditController } from './audit.controller';

@Module({ imports: [AuditLibModule, OrgsModule], controllers: [AuditController] })
export class AuditApiModule {}
