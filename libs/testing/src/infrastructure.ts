import { loadConfig, testInfrastructure, type AppConfig, type ServiceName } from '@molecule/config';
import { createDataSource, dropDatabase, runMigrations } from '@molecule/database';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { DataSource } from 'typeorm';

/**
 * A port nobody listens on right now (the OS picks it), for a service that must know its own
 * port before it starts. Parallel runs never pick the same one.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A short random tag: unique per test file, safe in database names and Redis keys. */
export function uniqueTag(): string {
  return `${process.pid.toString(36)}${randomBytes(4).toString('hex')}`;
}

export interface TestDatabase {
  url: string;
  dataSource: DataSource;
  /** Closes the connection and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own, so test files and parallel runs never share rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const url = new URL(testInfrastructure().databaseUrl);
  url.pathname = `/molecule_test_${uniqueTag()}`;
  await runMigrations(url.toString());
  const dataSource = createDataSource({ url: url.toString(), poolSize: 4 });
  await dataSource.initialize();
  return {
    url: url.toString(),
    dataSource,
    async drop() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await dropDatabase(url.toString());
    },
  };
}

/** A Redis key prefix of its own; `clear()` deletes every key under it. */
export function createTestRedisPrefix(): { prefix: string; clear(): Promise<void> } {
  const prefix = `molecule-test-${uniqueTag()}`;
  return {
    prefix,
    async clear() {
      const redis = new Redis(testInfrastructure().redisUrl, { maxRetriesPerRequest: 1 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
          if (keys.length > 0) await redis.unlink(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}

export const TEST_ADMIN_TOKEN = `test-admin-${randomBytes(24).toString('hex')}`;

/** A valid configuration pointing at the given test database and Redis prefix. */
export function testConfig(
  service: ServiceName,
  databaseUrl: string,
  redisPrefix: string,
  overrides: Record<string, string> = {},
): AppConfig {
  return loadConfig(service, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    REDIS_URL: testInfrastructure().redisUrl,
    REDIS_PREFIX: redisPrefix,
    MASTER_KEY: randomBytes(32).toString('base64'),
    PLATFORM_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    // Tests call routes far faster than any client should, all from 127.0.0.1 and mostly as one
    // principal; the rate-limit tests set small limits of their own.
    RATE_LIMIT_DEFAULT: '1000000',
    RATE_LIMIT_AUTH: '1000000',
    RATE_LIMIT_PUBLIC: '1000000',
    ...overrides,
  });
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
