import type { ServiceDefinition } from '@molecule/platform';
import { ProvisionerModule } from './provisioner.module';

export const provisionerService: ServiceDefinition = {
  name: 'provisioner',
  module: (config, logDestination) => ProvisionerModule.forRoot(config, logDestination),
  port: (config) => config.ports.provisioner,
};
