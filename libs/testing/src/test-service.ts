import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '@molecule/config';
import { createServiceApp, type ServiceDefinition } from '@molecule/platform';
import type { RouteOptions } from 'fastify';
import {
  createTestDatabase,
  createTestRedisPrefix,
  testConfig,
  type TestDatabase,
} from './infrastructure';
import { LogCapture } from './log-capture';

export interface TestService {
  app: NestFastifyApplication;
  config: AppConfig;
  db: TestDatabase;
  logs: LogCapture;
  /** Every route the HTTP server registered, Nest's and plugins' alike. */
  routes: RouteOptions[];
  close(): Promise<void>;
}

/**
 * Boots a service in-process the way `main.ts` does, against its own database and Redis prefix,
 * with logs captured (at `info`) instead of printed.
 */
export async function startTestService(
  service: ServiceDefinition,
  env: Record<string, string> = {},
): Promise<TestService> {
  const db = await createTestDatabase();
  const redis = createTestRedisPrefix();
  const config = testConfig(service.name, db.url, redis.prefix, { LOG_LEVEL: 'info', ...env });
  const logs = new LogCapture();
  const routes: RouteOptions[] = [];
  const app = await createServiceApp(service, config, {
    logDestination: logs,
    onRoute: (r) => routes.push(r),
  });
  // Fastify loads plugins (bull-board, Swagger UI) lazily; make every route exist now.
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    config,
    db,
    logs,
    routes,
    async close() {
      await app.close();
      await db.drop();
      await redis.clear();
    },
  };
}
