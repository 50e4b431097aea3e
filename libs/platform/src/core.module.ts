import { DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AuthModule } from '@molecule/auth';
import { ConfigModule, type AppConfig } from '@molecule/config';
import { DatabaseModule, PostgresDataKeyStore } from '@molecule/database';
import { EnvelopeCipher, MasterKeyring } from '@molecule/crypto';
import { OrgEvents } from '@molecule/events';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { LoggingModule, type RouteRef } from '@molecule/logging';
import { ObservabilityModule } from '@molecule/observability';
import { QUEUE_NAMES } from '@molecule/jobs';
import { RateLimitModule } from '@molecule/rate-limits';
import { QueuesModule, RedisModule } from '@molecule/redis';
import type { DestinationStream } from 'pino';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { createValidationPipe } from './validation';

export interface CoreOptions {
  config: AppConfig;
  /** Registers every BullMQ queue (producers, bull-board, workers) and checks them in /readyz. */
  queues: boolean;
  /** Where log lines go; tests pass a capturing stream. Defaults to stdout. */
  logDestination?: DestinationStream;
  /**
   * Hot routes served outside Nest that log their own failures: no request log middleware; `'all'`
   * for a service whose traffic never enters Nest (see `loggerOptions`).
   */
  unloggedRoutes?: RouteRef[] | 'all';
}

/**
 * What every service has: validated config, pino logging, Postgres, Redis, the org events
 * publisher, the global auth and rate limit guards, validation pipe and exception filter, and
 * `/healthz`, `/readyz`, `/metrics`.
 */
@Module({})
export class CoreModule {
  static forRoot({ config, queues, logDestination, unloggedRoutes }: CoreOptions): DynamicModule {
    const imports: ModuleMetadata['imports'] = [
      ConfigModule.forRoot(config),
      LoggingModule.forRoot(logDestination, unloggedRoutes),
      DatabaseModule,
      RedisModule,
      AuthModule,
      // After AuthModule: global guards run in import order, and the limiter keys requests by
      // the principal the auth guard established.
      RateLimitModule,
      ...(queues ? [QueuesModule] : []),
    ];
    return {
      module: CoreModule,
      global: true,
      imports: [
        ...imports,
        ObservabilityModule.forRoot({
          database: true,
          redis: true,
          queues: queues ? QUEUE_NAMES : [],
        }),
      ],
      providers: [
        {
          // Envelope encryption with each org's data key, wrapped by the master key(s).
          provide: EnvelopeCipher,
          inject: [getDataSourceToken()],
          useFactory: (dataSource: DataSource) =>
            new EnvelopeCipher(
              new PostgresDataKeyStore(dataSource),
              new MasterKeyring({
                current: config.masterKeys.current.reveal(),
                previous: config.masterKeys.previous.map((key) => key.reveal()),
              }),
            ),
        },
        // Live org events: any service publishes status changes and progress to its org's stream.
        OrgEvents,
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
      exports: [
        EnvelopeCipher,
        OrgEvents,
        DatabaseModule,
        AuthModule,
        // MetricsService, so any module can register its own series.
        ObservabilityModule,
        ...(queues ? [QueuesModule] : []),
      ],
    };
  }
}
