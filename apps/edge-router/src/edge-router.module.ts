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
      imports: [CoreModule.forRoot({ config, queues: false, logDestination })],
      providers: [
        { provide: EDGE_ROUTER_OPTIONS, useValue: resolveEdgeRouterOptions(config.edge, options) },
        EdgeRouterService,
      ],
    };
  }
}
