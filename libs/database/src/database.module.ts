import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { dataSourceOptions } from './data-source';
import { ENTITIES } from './entities';

/** The TypeORM connection of a service, plus a repository for every entity. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        dataSourceOptions({
          url: config.databaseUrl.reveal(),
          applicationName: `molecule-${config.service}`,
        }),
    }),
    TypeOrmModule.forFeature(ENTITIES),
  ],
  exports: [TypeOrmModule],
})
export class DatabaseModule {}
