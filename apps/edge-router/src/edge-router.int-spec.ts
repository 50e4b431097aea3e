import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { OrgStatus } from '@molecule/database';
import { createOrg, createOrgKey, eventually } from '@molecule/testing';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type AddressInfo } from 'node:net';
import {
  get,
  publishRoute,
  rawHttp,
  runningTenant,
  scrape,
  startRouter,
  tenantToken,
  type FakeTenantHost,
  type TestRouter,
} from '../test/edge-test-kit';

/**
 * The edge router end to end on one process: Host routing, its pages, visitor auth before the
 * tenant credential is injected, and header hygiene in both directions. Real Postgres (org keys)
 * and Redis (route table and invalidations); tenant hosts are local stand-ins.
 */

let router: TestRouter;
let acme: FakeTenantHost;
let globex: FakeTenantHost;
let acmeOrg: { id: string; slug: string };
let globexOrg: { id: string; slug: string };
let acmeKey: string;
let globexKey: string;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  router = await startRouter();
  const ds = router.service.db.dataSource;
  ({ org: acmeOrg, host: acme } = await runningTenant(router, 'acme'));
  ({ org: globexOrg, host: globex } = await runningTenant(router, 'globex'));
  acmeKey = (await createOrgKey(ds, acmeOrg.id, 'viewer')).token;
  globexKey = (await createOrgKey(ds, globexOrg.id, 'member')).token;
});

afterAll(async () => {
  await router?.close();
  await acme?.close();
  await globex?.close();
});

const host = (slug: string) => `${slug}.localhost:${router.port}`;

describe('routing by Host', () => {
  it('sends each tenant host to its own upstream, with the tenant credential', async () => {
    const a = await get(router.port, host(acmeOrg.slug), '/whoami', { 'x-api-key': acmeKey });
    const g = await get(router.port, host(globexOrg.slug), '/whoami', {
      authorization: `Bearer ${globexKey}`,
    });
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toMatchObject({ name: 'acme' });
    expect(g.status).toBe(200);
    expect(JSON.parse(g.body)).toMatchObject({ name: 'globex' });
  });

  it('routes <slug>.<BASE_DOMAIN> (localhost here) case-insensitively and with a trailing dot', async () => {
    const response = await get(router.port, `${acmeOrg.slug.toUpperCase()}.LOCALHOST.`, '/x', {
      'x-api-key': acmeKey,
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ name: 'acme', path: '/x' });
  });

  it('answers an unknown slug with a 404 page that is not cached', async () => {
    const response = await get(router.port, host('no-such-org'), '/', { 'x-api-key': acmeKey });
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toContain('Molecule');
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('answers a host under the tenant domain that is no slug with a 404', async () => {
    const response = await get(router.port, `a.b.localhost`, '/', { accept: 'application/json' });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({ error: { status: 404, code: 'not_found' } });
  });

  it.each([
    ['two Host lines', (h: string) => `host: ${h}\r\nhost: ${host(globexOrg.slug)}\r\n`, '/whoami'],
    ['a Host whose port is no port', (h: string) => `host: ${h}x\r\n`, '/whoami'],
    ['an absolute-form target', (h: string) => `host: ${h}\r\n`, 'http://evil.example/whoami'],
  ])('refuses %s with 400 without calling any upstream', async (_what, hostLines, target) => {
    const before = acme.requests.length + globex.requests.length;
    const response = await rawHttp(
      router.port,
      `GET ${target} HTTP/1.1\r\n${hostLines(host(acmeOrg.slug))}` +
        `x-api-key: ${acmeKey}\r\nconnection: close\r\n\r\n`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 400/);
    expect(acme.requests.length + globex.requests.length).toBe(before);
  });

  it('serves its own host without request-scoped log storage', async () => {
    // On Node 20 the first AsyncLocalStorage.run installs async hooks for the whole process, and
    // they would then cost every proxied request: probes of the router must not trigger it.
    const run = jest.spyOn(AsyncLocalStorage.prototype, 'run');
    try {
      for (const path of ['/healthz', '/readyz', '/metrics', '/no-such-path']) {
        await get(router.port, `127.0.0.1:${router.port}`, path);
      }
      await get(router.port, host(acmeOrg.slug), '/', { 'x-api-key': acmeKey });
      expect(run).not.toHaveBeenCalled();
    } finally {
      run.mockRestore();
    }
  });

  it('keeps the ops routes on the bare host only', async () => {
    const bare = await get(router.port, `127.0.0.1:${router.port}`, '/healthz');
    expect(bare.status).toBe(200);
    const tenant = await get(router.port, host(acmeOrg.slug), '/healthz', { 'x-api-key': acmeKey });
    // On a tenant host, /healthz is the tenant's path.
    expect(JSON.parse(tenant.body)).toEqual({ name: 'acme', path: '/healthz' });
  });

  it('shows a self-refreshing splash for an org that is provisioning', async () => {
    const org = await createOrg(router.service.db.dataSource, { status: OrgStatus.Provisioning });
    await publishRoute(
      router,
      { slug: org.slug, orgId: org.id, port: acme.port, status: 'provisioning' },
      tenantToken(),
    );
    const response = await get(router.port, host(org.slug), '/');
    expect(response.status).toBe(503);
    expect(response.body).toMatch(/<meta http-equiv="refresh" content="5">/);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['retry-after']).toBe('5');
  });

  it('shows the splash for an org being created that has no route yet', async () => {
    const org = await createOrg(router.service.db.dataSource, { status: OrgStatus.Pending });
    const response = await get(router.port, host(org.slug), '/');
    expect(response.status).toBe(503);
    expect(response.body).toContain('http-equiv="refresh"');
  });

  it('answers 502 with Retry-After when the tenant host is down', async () => {
    const org = await createOrg(router.service.db.dataSource);
    const key = (await createOrgKey(router.service.db.dataSource, org.id, 'viewer')).token;
    await publishRoute(
      router,
      { slug: org.slug, orgId: org.id, port: await closedPort() },
      tenantToken(),
    );
    const response = await get(router.port, host(org.slug), '/', { 'x-api-key': key });
    expect(response.status).toBe(502);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('reaches a slug created after a miss within 5 s', async () => {
    const org = await createOrg(router.service.db.dataSource);
    const key = (await createOrgKey(router.service.db.dataSource, org.id, 'viewer')).token;
    expect((await get(router.port, host(org.slug), '/', { 'x-api-key': key })).status).toBe(404);
    const published = Date.now();
    await publishRoute(router, { slug: org.slug, orgId: org.id, port: acme.port }, acme.token);
    await eventually(
      'the new slug to be served',
      async () =>
        (await get(router.port, host(org.slug), '/', { 'x-api-key': key })).status === 200
          ? true
          : undefined,
      5_000,
      50,
    );
    expect(Date.now() - published).toBeLessThan(5_000);
  });
});

describe('visitor authentication', () => {
  it('refuses a request without credential with 401, and the upstream never sees it', async () => {
    const before = acme.requests.length;
    const response = await get(router.port, host(acmeOrg.slug), '/whoami');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(acme.requests.length).toBe(before);
  });

  it.each([
    ['an unknown org key', () => ({ 'x-api-key': `mol_ok_${'A'.repeat(43)}` })],
    ['a malformed Authorization header', () => ({ authorization: 'Basic Zm9vOmJhcg==' })],
    ['the tenant token itself', () => ({ authorization: `Bearer ${acme.token}` })],
    ['a cookie that holds no session', () => ({ cookie: 'molecule_session=abc' })],
  ])('refuses %s with 401 without calling the upstream', async (_what, headers) => {
    const before = acme.requests.length;
    const response = await get(router.port, host(acmeOrg.slug), '/whoami', headers());
    expect(response.status).toBe(401);
    expect(acme.requests.length).toBe(before);
  });

  it("refuses org A's key on org B's host with 403, without calling B", async () => {
    const before = globex.requests.length;
    const response = await get(router.port, host(globexOrg.slug), '/whoami', {
      'x-api-key': acmeKey,
    });
    expect(response.status).toBe(403);
    expect(globex.requests.length).toBe(before);
  });

  it('refuses a revoked key once its cached lookup has expired', async () => {
    const ds = router.service.db.dataSource;
    const { token, key } = await createOrgKey(ds, acmeOrg.id, 'viewer', {
      revokedAt: new Date(),
    });
    expect(key.revokedAt).not.toBeNull();
    expect((await get(router.port, host(acmeOrg.slug), '/', { 'x-api-key': token })).status).toBe(
      401,
    );
  });
});

describe('header hygiene', () => {
  it('strips client identity and credential headers and sets the forwarding ones', async () => {
    const response = await get(router.port, host(acmeOrg.slug), '/whoami', {
      authorization: `Bearer ${acmeKey}`,
      cookie: `session=tenant-app; molecule_session=mol_vs_${'A'.repeat(43)}`,
      'x-molecule-org-id': globexOrg.id,
      'x-molecule-anything': 'forged',
      'x-workspace-id': 'forged-workspace',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
      'x-request-id': 'trace-123',
      'x-custom': 'kept',
    });
    expect(response.status).toBe(200);
    const seen = (JSON.parse(response.body) as { headers: Record<string, string> }).headers;
    expect(seen.authorization).toBe(`Bearer ${acme.token}`);
    // The tenant's own cookies pass; the router's session cookie never does.
    expect(seen.cookie).toBe('session=tenant-app');
    expect(seen['x-api-key']).toBeUndefined();
    expect(seen['x-workspace-id']).toBeUndefined();
    expect(seen['x-molecule-anything']).toBeUndefined();
    expect(seen['x-molecule-org-id']).toBe(acmeOrg.id);
    expect(seen['x-molecule-visitor-role']).toBe('viewer');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-host']).toBe(host(acmeOrg.slug));
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-request-id']).toBe('trace-123');
    expect(seen['x-custom']).toBe('kept');
    expect(JSON.stringify(seen)).not.toContain(acmeKey);
  });

  it('never hands the tenant credential to the client', async () => {
    const response = await get(router.port, host(acmeOrg.slug), '/echo-credential', {
      'x-api-key': acmeKey,
    });
    expect(response.status).toBe(200);
    expect(response.headers['x-safe']).toBe('kept');
    expect(response.headers['x-echo-authorization']).toBeUndefined();
    expect(response.headers['x-echo-token']).toBeUndefined();
    const everything = JSON.stringify(response.headers) + response.body;
    expect(everything).not.toContain(acme.token);
    // Nor in the logs.
    expect(router.service.logs.text).not.toContain(acme.token);
    expect(router.service.logs.text).not.toContain(acmeKey);
  });

  it('drops hop-by-hop headers, including those named in Connection', async () => {
    // By hand: HTTP clients rewrite Connection themselves.
    const response = await rawHttp(
      router.port,
      `GET /whoami HTTP/1.1\r\nhost: ${host(acmeOrg.slug)}\r\nx-api-key: ${acmeKey}\r\n` +
        'connection: close, x-hop\r\nx-hop: should not pass\r\nkeep-alive: timeout=99\r\n' +
        'te: trailers\r\nproxy-authorization: Basic Zm9v\r\n\r\n',
    );
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    const body = response.slice(response.indexOf('\r\n\r\n') + 4);
    const seen = (JSON.parse(body) as { headers: Record<string, string> }).headers;
    for (const name of ['x-hop', 'keep-alive', 'te', 'proxy-authorization']) {
      expect(seen[name]).toBeUndefined();
    }
  });
});

describe('metrics', () => {
  it('counts requests per tenant and status on /metrics', async () => {
    await get(router.port, host(acmeOrg.slug), '/', { 'x-api-key': acmeKey });
    const text = await scrape(router.port);
    expect(text).toMatch(
      new RegExp(`edge_requests_total\\{[^}]*tenant="${acmeOrg.slug}"[^}]*status="200"`),
    );
    expect(text).toContain('edge_request_duration_seconds_bucket');
    expect(text).toMatch(/edge_route_cache_total\{[^}]*result="hit"/);
    expect(text).toMatch(/edge_upstream_errors_total\{[^}]*reason="connect"/);
    expect(text).not.toContain(acme.token);
  });
});
