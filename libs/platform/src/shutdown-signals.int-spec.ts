import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createTestDatabase,
  createTestRedisPrefix,
  testConfig,
  type TestDatabase,
} from '@molecule/testing';
import { createServiceApp, SHUTDOWN_SIGNALS, type ServiceDefinition } from './bootstrap';
import { CoreModule } from './core.module';

@Module({})
class BareModule {}

const bareService: ServiceDefinition = {
  name: 'api',
  module: (config) => ({
    module: BareModule,
    imports: [CoreModule.forRoot({ config, queues: false })],
  }),
  port: (config) => config.ports.api,
};

// Signals Nest would also take by default; a service must not stop (or handle a fault) on them.
const NOT_SHUTDOWN = ['SIGUSR2', 'SIGQUIT', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGABRT'];

describe('shutdown signals', () => {
  let db: TestDatabase;
  let redis: ReturnType<typeof createTestRedisPrefix>;
  let app: NestFastifyApplication | undefined;
  const counts = (signals: readonly string[]) =>
    Object.fromEntries(signals.map((s) => [s, process.listenerCount(s as NodeJS.Signals)]));
  let before: Record<string, number>;
  let after: Record<string, number>;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = createTestRedisPrefix();
    before = counts([...SHUTDOWN_SIGNALS, ...NOT_SHUTDOWN]);
    app = await createServiceApp(bareService, testConfig('api', db.url, redis.prefix));
    after = counts([...SHUTDOWN_SIGNALS, ...NOT_SHUTDOWN]);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await redis?.clear();
  });

  it('listens for SIGTERM, SIGINT and SIGHUP', () => {
    for (const signal of SHUTDOWN_SIGNALS)
      expect([signal, after[signal]]).toEqual([signal, before[signal] + 1]);
  });

  it('leaves SIGUSR2 and the fault signals alone', () => {
    for (const signal of NOT_SHUTDOWN)
      expect([signal, after[signal]]).toEqual([signal, before[signal]]);
  });
});
