import type { ServiceDefinition } from '@molecule/platform';
import { RegistryModule } from './registry.module';

export const registryService: ServiceDefinition = {
  name: 'registry',
  module: (config, logDestination) => RegistryModule.forRoot(config, logDestination),
  port: (config) => config.ports.registry,
};
