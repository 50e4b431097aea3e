import type { ServiceDefinition } from '@molecule/platform';
import { EdgeRouterModule } from './edge-router.module';

export const edgeRouterService: ServiceDefinition = {
  name: 'edge-router',
  module: (config, logDestination) => EdgeRouterModule.forRoot(config, logDestination),
  port: (config) => config.ports.edgeRouter,
};
