import type { OpenAPIObject } from '@nestjs/swagger';
import { HeartbeatDto } from './heartbeat.dto';
import { HEARTBEAT_PATH } from './heartbeat.route';

/** Schemas the heartbeat operation refers to: pass them as `extraModels` to `createDocument`. */
export const HEARTBEAT_MODELS = [HeartbeatDto];

/**
 * Adds `POST /registry/heartbeat` to the registry's OpenAPI document. Nest's scanner only sees
 * controllers, and the route is served by Fastify directly (see HeartbeatRoute); the body schema
 * still comes from `HeartbeatDto`, the class whose rules the route applies.
 */
export function documentHeartbeat(document: OpenAPIObject): void {
  document.paths[HEARTBEAT_PATH] = {
    post: {
      // The id it had as a Nest controller method, so generated clients keep their method name.
      operationId: 'HeartbeatController_beat',
      summary: 'Report liveness and load; answers with the next interval',
      tags: ['registry'],
      security: [{ bearer: [] }],
      parameters: [],
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: { $ref: '#/components/schemas/HeartbeatDto' } },
        },
      },
      responses: {
        '200': {
          description: 'The beat is stored',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { nextIntervalSeconds: { type: 'number' } },
                required: ['nextIntervalSeconds'],
              },
            },
          },
        },
        '400': { description: 'The body is not a valid heartbeat' },
        '401': { description: 'No valid session token' },
        '403': { description: 'The credential is not a workspace session token' },
      },
    },
  };
}
