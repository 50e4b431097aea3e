import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { ServiceDefinition } from '@molecule/platform';
import { ApiModule } from './api.module';

export const apiService: ServiceDefinition = {
  name: 'api',
  module: (config, logDestination) => ApiModule.forRoot(config, logDestination),
  port: (config) => config.ports.api,
  setup(app, config) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Molecule control plane API')
        .setDescription('Orgs, workspaces, keys and provisioning of the Molecule control plane.')
        .setVersion(config.version)
        .addBearerAuth({
          type: 'http',
          scheme: 'bearer',
          description: 'Org key, partner key or platform admin token',
        })
        .build(),
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  },
};
