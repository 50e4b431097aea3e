import { DynamicModule, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { loggerOptions, type RouteRef } from './logger-options';

@Module({})
export class LoggingModule {
  /**
   * `destination` lets tests capture log lines; by default pino writes JSON to stdout.
   * `unlogged`: routes without request logging, or `'all'` (see `loggerOptions`).
   */
  static forRoot(
    destination?: DestinationStream,
    unlogged: RouteRef[] | 'all' = [],
  ): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => loggerOptions(config, destination, unlogged),
        }),
      ],
      exports: [LoggerModule],
    };
  }
}
