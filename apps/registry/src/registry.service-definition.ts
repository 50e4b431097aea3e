import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { ServiceDefinition } from '@molecule/platform';
import { documentHeartbeat, HEARTBEAT_MODELS } from './heartbeats/heartbeat.openapi';
import { RegistryModule } from './registry.module';

export const registryService: ServiceDefinition = {
  name: 'registry',
  module: (config, logDestination) => RegistryModule.forRoot(config, logDestination),
  port: (config) => config.ports.registry,
  setup(app, config) {
    // A2A clients may send `application/a2a+json`; it is JSON, parsed like it.
    const fastify = app.getHttpAdapter().getInstance();
    fastify.addContentTypeParser(
      'application/a2a+json',
      { parseAs: 'string' },
      fastify.getDefaultJsonParser('error', 'error'),
    );
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Molecule registry')
        .setDescription(
          'What workspaces call: register, heartbeat, boot reports, token rotation, peers and the A2A proxy.',
        )
        .setVersion(config.version)
        .addBearerAuth({
          type: 'http',
          scheme: 'bearer',
          description: 'Workspace bootstrap or session token',
        })
        .build(),
      { extraModels: HEARTBEAT_MODELS },
    );
    documentHeartbeat(document);
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  },
};
