import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig, ServiceName } from '@molecule/config';
import { createServiceApp, type ServiceDefinition } from '@molecule/platform';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  createTestRedisPrefix,
  testConfig,
  type TestDatabase,
} from './infrastructure';
import { LogCapture } from './log-capture';

export interface TestSystem {
  apps: Map<ServiceName, NestFastifyApplication>;
  configs: Map<ServiceName, AppConfig>;
  db: TestDatabase;
  redisPrefix: string;
  /** The local compute driver's instance folder (a fresh temp folder). */
  instancesDir: string;
  logs: LogCapture;
  app(name: ServiceName): NestFastifyApplication;
  close(): Promise<void>;
}

/**
 * Several services in-process, sharing one test database, Redis prefix, master key and local
 * instance folder: a whole control plane for one test file.
 */
export async function startTestSystem(
  services: ServiceDefinition[],
  env: Record<string, string> = {},
): Promise<TestSystem> {
  const db = await createTestDatabase();
  const redis = createTestRedisPrefix();
  const instancesDir = mkdtempSync(join(tmpdir(), 'molecule-instances-'));
  const shared = {
    MASTER_KEY: randomBytes(32).toString('base64'),
    LOCAL_INSTANCES_DIR: instancesDir,
    ...env,
  };
  const logs = new LogCapture();
  const apps = new Map<ServiceName, NestFastifyApplication>();
  const configs = new Map<ServiceName, AppConfig>();
  for (const service of services) {
    const config = testConfig(service.name, db.url, redis.prefix, shared);
    configs.set(service.name, config);
    apps.set(service.name, await createServiceApp(service, config, { logDestination: logs }));
  }
  return {
    apps,
    configs,
    db,
    redisPrefix: redis.prefix,
    instancesDir,
    logs,
    app(name) {
      const app = apps.get(name);
      if (!app) throw new Error(`${name} is not part of this test system`);
      return app;
    },
    async close() {
      for (const app of [...apps.values()].reverse()) await app.close();
      await db.drop();
      await redis.clear();
      rmSync(instancesDir, { recursive: true, force: true });
    },
  };
}
