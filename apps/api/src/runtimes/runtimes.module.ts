import { Module } from '@nestjs/common';
import { RuntimeCatalog } from '@molecule/runtimes';
import { RuntimesController } from './runtimes.controller';

@Module({
  controllers: [RuntimesController],
  providers: [{ provide: RuntimeCatalog, useFactory: () => new RuntimeCatalog() }],
  exports: [RuntimeCatalog],
})
export class RuntimesModule {}
