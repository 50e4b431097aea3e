import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@molecule/config';
import { CoreModule } from '@molecule/platform';
import type { DestinationStream } from 'pino';
import {
  EDGE_ROUTER_OPTIONS,
  resolveEdgeRouterOptions,
  type EdgeRouterOptions,
} from './edge-router.options';
import { EdgeRouterService } from './edge-router.service';

@Module({})
export class EdgeRouterModule {
  static forRoot(
    config: AppConfig,
    logDestination?: DestinationStream,
    options: EdgeRouterOptions = {},
  ): DynamicModule {
    return {
      module: EdgeRouterModule,
      // Tenant traffic never enters Nest, and its ops routes are probes: no request logging, so
      // no AsyncLocalStorage (and no async hooks on the proxy's hot path; see `loggerOptions`).
      imports: [
        CoreModule.forRoot({ config, queues: false, logDestination, unloggedRoutes: 'all' }),
      ],
      providers: [
        { provide: EDGE_ROUTER_OPTIONS, useValue: resolveEdgeRouterOptions(config.edge, options) },
        EdgeRouterService,
      ],
    };
  }
}
