import { Module } from '@nestjs/common';
import { AuditModule } from '@molecule/audit';
import { OrgsModule } from '../orgs/orgs.module';
import { MemoriesController } from './memories.controller';
import { MemoriesService } from './memories.service';

@Module({
  imports: [AuditModule, OrgsModule],
  controllers: [MemoriesController],
  providers: [MemoriesService],
})
export class MemoriesModule {}
