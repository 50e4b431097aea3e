import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { ServiceDefinition } from '@molecule/platform';
import { RegistryModule } from './registry.module';

export const registryService: ServiceDefinition = {
  name: 'registry',
  module: (config, logDestination) => RegistryModule.forRoot(config, logDestination),
  port: (config) => config.ports.registry,
  setup(app, config) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Molecule registry')
        .setDescription('What workspaces call: register, heartbeat, boot reports, token rotation.')
        .setVersion(config.version)
        .addBearerAuth({
          type: 'http',
          scheme: 'bearer',
          description: 'Workspace bootstrap or session token',
        })
        .build(),
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  },
};
