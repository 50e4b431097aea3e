import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { RuntimeCatalog } from '@molecule/runtimes';
import { RuntimesController } from './runtimes.controller';

@Module({
  controllers: [RuntimesController],
  providers: [
    {
      provide: RuntimeCatalog,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => RuntimeCatalog.load(config.runtimeCatalogPath),
    },
  ],
  exports: [RuntimeCatalog],
})
export class RuntimesModule {}
