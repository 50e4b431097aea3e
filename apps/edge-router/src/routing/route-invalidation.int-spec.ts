import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createOrg, createOrgKey, eventually } from '@molecule/testing';
import {
  get,
  publishRoute,
  scrape,
  startFakeTenantHost,
  startRedisRelay,
  startRouter,
  tenantToken,
  type FakeTenantHost,
  type RedisRelay,
  type TestRouter,
} from '../../test/edge-test-kit';

/**
 * The route table seen by several replicas: changes pushed over pub/sub reach every router within
 * 100 ms, and a router whose Redis goes away keeps serving the routes it knows.
 */

let first: TestRouter;
let second: TestRouter;
let blue: FakeTenantHost;
let green: FakeTenantHost;
let org: { id: string; slug: string };
let key: string;

const whoIs = async (router: TestRouter): Promise<string | undefined> => {
  const response = await get(router.port, `${org.slug}.localhost`, '/whoami', { 'x-api-key': key });
  return response.status === 200
    ? (JSON.parse(response.body) as { name: string }).name
    : `status ${response.status}`;
};

describe('two replicas', () => {
  beforeAll(async () => {
    first = await startRouter();
    // The second replica shares the first one's database, Redis prefix and master key.
    second = await startRouter(
      {},
      {
        DATABASE_URL: first.service.db.url,
        REDIS_PREFIX: first.service.config.redis.prefix,
        MASTER_KEY: first.service.config.masterKeys.current.reveal().toString('base64'),
      },
    );
    org = await createOrg(first.service.db.dataSource);
    key = (await createOrgKey(first.service.db.dataSource, org.id, 'viewer')).token;
    blue = await startFakeTenantHost('blue', tenantToken());
    green = await startFakeTenantHost('green', tenantToken());
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
    await blue?.close();
    await green?.close();
  });

  it('see a route change within 100 ms', async () => {
    await publishRoute(first, { slug: org.slug, orgId: org.id, port: blue.port }, blue.token);
    // Both replicas have the route cached (positive TTL 60 s).
    expect(await whoIs(first)).toBe('blue');
    expect(await whoIs(second)).toBe('blue');

    const changed = Date.now();
    await publishRoute(
      first,
      { slug: org.slug, orgId: org.id, port: green.port, generation: 2 },
      green.token,
    );
    const seen = await Promise.all(
      [first, second].map((router) =>
        eventually(
          'the new backend',
          async () => ((await whoIs(router)) === 'green' ? Date.now() - changed : undefined),
          1_000,
          5,
        ),
      ),
    );
    expect(Math.max(...seen)).toBeLessThan(100);
  });

  it('never go back to an older generation', async () => {
    // A late writer with the previous generation is refused by the table, and the routers keep
    // the newer backend.
    const stale = await first.publisher.publish({
      slug: org.slug,
      orgId: org.id,
      status: 'running',
      address: '127.0.0.1',
      port: blue.port,
      protocol: 'http',
      generation: 1,
      credential: await first.cipher.encrypt(org.id, blue.token),
      updatedAt: new Date().toISOString(),
    });
    expect(stale).toBe(false);
    expect(await whoIs(first)).toBe('green');
    expect(await whoIs(second)).toBe('green');
  });

  it('drop a removed route at once', async () => {
    expect(await first.publisher.remove(org.slug, 2)).toBe(true);
    await eventually(
      'the route to be gone everywhere',
      async () =>
        (await whoIs(first)) === 'status 404' && (await whoIs(second)) === 'status 404'
          ? true
          : undefined,
      1_000,
      10,
    );
  });
});

describe('Redis unreachable', () => {
  let relay: RedisRelay;
  let router: TestRouter;
  let host: FakeTenantHost;

  beforeAll(async () => {
    relay = await startRedisRelay();
    // A short positive TTL, so the test reaches the point where the entry must be re-checked.
    router = await startRouter({ routeCache: { positiveTtlMs: 200 } }, { REDIS_URL: relay.url });
    org = await createOrg(router.service.db.dataSource);
    key = (await createOrgKey(router.service.db.dataSource, org.id, 'viewer')).token;
    host = await startFakeTenantHost('steady', tenantToken());
    await publishRoute(router, { slug: org.slug, orgId: org.id, port: host.port }, host.token);
  });

  afterAll(async () => {
    await router?.close();
    await relay?.close();
    await host?.close();
  });

  it('keeps serving known routes, counted as stale, and recovers', async () => {
    expect(await whoIs(router)).toBe('steady');
    await relay.stop();
    // Past the positive TTL: the entry must be re-checked, and Redis cannot answer.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < 5; i++) expect(await whoIs(router)).toBe('steady');
    const unknown = await get(router.port, 'never-seen.localhost', '/', { 'x-api-key': key });
    expect(unknown.status).toBe(503);
    expect(unknown.headers['retry-after']).toBeDefined();

    const metrics = await scrape(router.port);
    expect(metrics).toMatch(
      new RegExp(
        `edge_route_cache_total\\{[^}]*tenant="${org.slug}"[^}]*result="stale"[^}]*\\} [1-9]`,
      ),
    );
    expect(metrics).toMatch(/edge_route_store_errors_total\{[^}]*\} [1-9]/);

    await relay.start();
    await eventually(
      'fresh lookups again',
      async () => {
        const response = await get(router.port, 'never-seen.localhost', '/');
        return response.status === 404 ? true : undefined;
      },
      10_000,
      100,
    );
    expect(await whoIs(router)).toBe('steady');
  });
});
