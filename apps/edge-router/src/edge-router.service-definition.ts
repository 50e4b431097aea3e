import type { ServiceDefinition } from '@molecule/platform';
import type { EdgeRouterOptions } from './edge-router.options';
import { EdgeRouterModule } from './edge-router.module';

/**
 * The edge router, its tuning from the EDGE_* variables; `options` override single values (tests use
 * shorter TTLs, say).
 */
export function createEdgeRouterService(options: EdgeRouterOptions = {}): ServiceDefinition {
  return {
    name: 'edge-router',
    module: (config, logDestination) => EdgeRouterModule.forRoot(config, logDestination, options),
    port: (config) => config.ports.edgeRouter,
  };
}

export const edgeRouterService: ServiceDefinition = createEdgeRouterService();
