import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, Post } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { PartnerKey, PlatformAdmin, Public } from '@molecule/auth';
import { testInfrastructure } from '@molecule/config';
import { CoreModule, createServiceApp, type ServiceDefinition } from '@molecule/platform';
import { REDIS } from '@molecule/redis';
import {
  createPartnerKey,
  createTestDatabase,
  createTestRedisPrefix,
  LogCapture,
  TEST_ADMIN_TOKEN,
  testConfig,
  type TestDatabase,
} from '@molecule/testing';
import { Redis } from 'ioredis';
import { createServer, type Server, type Socket } from 'node:net';
import { RateLimit, SkipRateLimit } from './rate-limit.decorators';

@Controller('probe')
class ProbeController {
  @Get('everyday')
  @PlatformAdmin()
  @PartnerKey('orgs:read')
  everyday() {
    return { ok: true };
  }

  @Get('other')
  @PlatformAdmin()
  @PartnerKey('orgs:read')
  other() {
    return { ok: true };
  }

  @Get('open')
  @Public()
  open() {
    return { ok: true };
  }

  @Post('login')
  @Public()
  @RateLimit('auth')
  login() {
    return { ok: true };
  }

  @Get('hot')
  @Public()
  @SkipRateLimit()
  hot() {
    return { ok: true };
  }
}

@Module({})
class ProbeModule {}

const probeService: ServiceDefinition = {
  name: 'api',
  module: (config, logDestination) => ({
    module: ProbeModule,
    imports: [CoreModule.forRoot({ config, queues: false, logDestination })],
    controllers: [ProbeController],
  }),
  port: (config) => config.ports.api,
};

const LIMITS = {
  RATE_LIMIT_DEFAULT: '5',
  RATE_LIMIT_AUTH: '2',
  RATE_LIMIT_PUBLIC: '3',
  RATE_LIMIT_WINDOW_SECONDS: '60',
};

interface Envelope {
  error: { status: number; code: string; message: string; details?: Record<string, unknown> };
}

type Inject = NestFastifyApplication['inject'];
type Reply = Awaited<ReturnType<Inject>>;

function expectLimited(response: Reply, limit: number): void {
  expect(response.statusCode).toBe(429);
  const retryAfter = Number(response.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  const body = response.json<Envelope>();
  expect(body.error).toMatchObject({
    status: 429,
    code: 'too_many_requests',
    details: { retryAfterSeconds: retryAfter, limit },
  });
}

/** Sends `count` requests one after another and returns the status codes. */
async function statuses(
  app: NestFastifyApplication,
  count: number,
  request: Parameters<Inject>[0],
): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < count; i++) codes.push((await app.inject(request as never)).statusCode);
  return codes;
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith(`${name}{`) &&
        Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('rate limit guard (integration)', () => {
  let db: TestDatabase;
  const prefixes: ReturnType<typeof createTestRedisPrefix>[] = [];
  const apps: NestFastifyApplication[] = [];
  const logs = new LogCapture();

  async function start(env: Record<string, string>, prefix?: string) {
    const redis = createTestRedisPrefix();
    prefixes.push(redis);
    const config = testConfig('api', db.url, prefix ?? redis.prefix, {
      LOG_LEVEL: 'info',
      ...LIMITS,
      ...env,
    });
    const app = await createServiceApp(probeService, config, { logDestination: logs });
    apps.push(app);
    return { app, config };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await db?.drop();
    for (const prefix of prefixes) await prefix.clear();
  });

  describe('with Redis', () => {
    let app: NestFastifyApplication;
    let prefix: string;
    let partnerA: string;
    let partnerB: string;

    beforeAll(async () => {
      const started = await start({});
      app = started.app;
      prefix = started.config.redis.prefix;
      partnerA = (await createPartnerKey(db.dataSource, ['orgs:read'])).token;
      partnerB = (await createPartnerKey(db.dataSource, ['orgs:read'])).token;
    });

    const as = (token: string, url = '/probe/everyday') => ({
      method: 'GET' as const,
      url,
      headers: { authorization: `Bearer ${token}` },
    });

    it('lets the configured count through, then answers 429 with Retry-After in the envelope', async () => {
      const first = await app.inject(as(partnerA));
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-ratelimit-limit']).toBe('5');
      expect(first.headers['x-ratelimit-remaining']).toBe('4');
      // The default bucket is one per client across routes.
      expect(await statuses(app, 4, as(partnerA, '/probe/other'))).toEqual([200, 200, 200, 200]);
      expectLimited(await app.inject(as(partnerA)), 5);
      expectLimited(await app.inject(as(partnerA, '/probe/other')), 5);
    });

    it('gives each principal its own bucket', async () => {
      expect((await app.inject(as(partnerA))).statusCode).toBe(429);
      expect(await statuses(app, 5, as(partnerB))).toEqual([200, 200, 200, 200, 200]);
      expect((await app.inject(as(TEST_ADMIN_TOKEN))).statusCode).toBe(200);
    });

    it('counts a stricter policy per route, apart from the default bucket', async () => {
      const login = { method: 'POST' as const, url: '/probe/login', remoteAddress: '192.0.2.10' };
      expect(await statuses(app, 2, login)).toEqual([201, 201]);
      expectLimited(await app.inject(login), 2);
      const open = { method: 'GET' as const, url: '/probe/open', remoteAddress: '192.0.2.10' };
      expect(await statuses(app, 3, open)).toEqual([200, 200, 200]);
      expectLimited(await app.inject(open), 3);
    });

    it('gives each client address its own bucket on public routes', async () => {
      const from = (remoteAddress: string) => ({
        method: 'GET' as const,
        url: '/probe/open',
        remoteAddress,
      });
      expect(await statuses(app, 4, from('192.0.2.20'))).toEqual([200, 200, 200, 429]);
      expect(await statuses(app, 3, from('192.0.2.21'))).toEqual([200, 200, 200]);
    });

    it('ignores a forged X-Forwarded-For when no proxy is trusted', async () => {
      const forged = (n: number) => ({
        method: 'GET' as const,
        url: '/probe/open',
        remoteAddress: '192.0.2.30',
        headers: { 'x-forwarded-for': `198.51.100.${n}` },
      });
      for (let n = 1; n <= 3; n++) expect((await app.inject(forged(n))).statusCode).toBe(200);
      for (let n = 4; n <= 8; n++) expectLimited(await app.inject(forged(n)), 3);
    });

    it('never limits the probes, the metrics scrape or an exempt route', async () => {
      for (const url of ['/healthz', '/readyz', '/metrics', '/probe/hot']) {
        const codes = await statuses(app, 12, { method: 'GET', url, remoteAddress: '192.0.2.40' });
        expect(codes.every((code) => code === 200)).toBe(true);
      }
    });

    it('counts limited requests by route and policy in /metrics', async () => {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(
        metricValue(text, 'rate_limited_requests_total', {
          route: '/probe/login',
          policy: 'auth',
          method: 'POST',
        }),
      ).toBe(1);
      expect(
        metricValue(text, 'rate_limited_requests_total', {
          route: '/probe/everyday',
          policy: 'default',
        }),
      ).toBe(2);
    });

    it('keeps its counters under REDIS_PREFIX, each with an expiry within the window', async () => {
      const redis = new Redis(testInfrastructure().redisUrl, { maxRetriesPerRequest: 1 });
      try {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:rate-limit:*`);
          keys.push(...found);
          cursor = next;
        } while (cursor !== '0');
        expect(keys).toContain(`${prefix}:rate-limit:auth:POST:/probe/login:ip:192.0.2.10`);
        expect(keys).toContain(`${prefix}:rate-limit:public:GET:/probe/open:ip:192.0.2.20`);
        expect(keys.some((k) => /:rate-limit:default:key:[0-9a-f-]{36}$/.test(k))).toBe(true);
        for (const key of keys) {
          const ttl = await redis.pttl(key);
          expect(ttl).toBeGreaterThan(0);
          expect(ttl).toBeLessThanOrEqual(60_000);
        }
      } finally {
        redis.disconnect();
      }
    });

    it('shares counters with a second replica on the same Redis prefix', async () => {
      const replica = (await start({}, prefix)).app;
      const token = (await createPartnerKey(db.dataSource, ['orgs:read'])).token;
      expect(await statuses(app, 3, as(token))).toEqual([200, 200, 200]);
      expect(await statuses(replica, 2, as(token))).toEqual([200, 200]);
      expectLimited(await replica.inject(as(token)), 5);
      expectLimited(await app.inject(as(token)), 5);
    });
  });

  describe('behind one trusted proxy (TRUST_PROXY=1)', () => {
    let app: NestFastifyApplication;

    beforeAll(async () => {
      app = (await start({ TRUST_PROXY: '1' })).app;
    });

    const via = (forwardedFor: string) => ({
      method: 'GET' as const,
      url: '/probe/open',
      remoteAddress: '10.0.0.2',
      headers: { 'x-forwarded-for': forwardedFor },
    });

    it('keys by the address the proxy saw; what the client put in front cannot reset it', async () => {
      for (let n = 1; n <= 3; n++) {
        expect((await app.inject(via(`198.51.100.${n}, 203.0.113.50`))).statusCode).toBe(200);
      }
      expectLimited(await app.inject(via('198.51.100.9, 203.0.113.50')), 3);
      expectLimited(await app.inject(via('203.0.113.50')), 3);
      // Another client behind the same proxy has a bucket of its own.
      expect((await app.inject(via('198.51.100.9, 203.0.113.51'))).statusCode).toBe(200);
    });
  });

  describe('when Redis cannot count (fail open)', () => {
    let silent: Server;
    const sockets: Socket[] = [];

    beforeAll(async () => {
      // Accepts connections and never answers: a hung or partitioned Redis.
      silent = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    async function failOpen(redisUrl: string) {
      const { app } = await start({
        REDIS_URL: redisUrl,
        RATE_LIMIT_PUBLIC: '1',
        RATE_LIMIT_REDIS_TIMEOUT_MS: '100',
      });
      const started = Date.now();
      const codes = await statuses(app, 4, { method: 'GET', url: '/probe/open' });
      const elapsed = Date.now() - started;
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      // Stop retrying the unreachable server before the app closes its client.
      app.get<Redis>(REDIS).disconnect();
      return { codes, elapsed, failures: metricValue(text, 'rate_limit_store_failures_total') };
    }

    it('lets requests through, counted in a metric, when Redis does not answer in time', async () => {
      const port = (silent.address() as { port: number }).port;
      const { codes, elapsed, failures } = await failOpen(`redis://127.0.0.1:${port}`);
      expect(codes).toEqual([200, 200, 200, 200]);
      expect(failures).toBe(4);
      // Each request waits about RATE_LIMIT_REDIS_TIMEOUT_MS for the counter, not until a hung
      // Redis answers (it never does): the bound is loose so a busy machine cannot fail it.
      expect(elapsed).toBeLessThan(10_000);
      expect(logs.text).toContain('rate limit store unavailable');
    });

    it('lets requests through when Redis refuses connections', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as { port: number }).port;
      await new Promise((resolve) => closed.close(resolve));
      const { codes, failures } = await failOpen(`redis://127.0.0.1:${port}`);
      expect(codes).toEqual([200, 200, 200, 200]);
      expect(failures).toBe(4);
    });
  });
});
