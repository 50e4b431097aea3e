import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { WorkspaceTokens } from '@molecule/auth';
import { Org } from '@molecule/database';
import { createServiceApp } from '@molecule/platform';
import { RATE_LIMIT_POLICY } from '@molecule/rate-limits';
import {
  createOrg,
  createOrgKey,
  createPartnerKey,
  createWorkspace,
  startTestService,
  type TestService,
} from '@molecule/testing';
import { randomUUID } from 'node:crypto';
import { OrgApiKeysController } from '../../apps/api/src/api-keys/org-api-keys.controller';
import { PartnerKeysController } from '../../apps/api/src/api-keys/partner-keys.controller';
import { apiService } from '../../apps/api/src/api.service-definition';
import { OrgsController } from '../../apps/api/src/orgs/orgs.controller';
import { SessionsController } from '../../apps/api/src/sessions/sessions.controller';
import { RegistrationController } from '../../apps/registry/src/registration/registration.controller';
import { registryService } from '../../apps/registry/src/registry.service-definition';

/** Rate limits of the real services (SPEC §5.9): small limits so the tests stay quick. */

type Reply = Awaited<ReturnType<NestFastifyApplication['inject']>>;

function expectLimited(response: Reply): void {
  expect(response.statusCode).toBe(429);
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.json()).toMatchObject({
    error: { status: 429, code: 'too_many_requests', details: { retryAfterSeconds: retryAfter } },
  });
}

describe('rate limit policies of the routes', () => {
  /** The handler's own policy, else its controller's (as the guard reads them). */
  function policyOf(controller: new (...args: never[]) => object, handler: string): unknown {
    const method = (controller.prototype as Record<string, unknown>)[handler];
    expect(typeof method).toBe('function');
    return (
      (Reflect.getMetadata(RATE_LIMIT_POLICY, method as object) as unknown) ??
      (Reflect.getMetadata(RATE_LIMIT_POLICY, controller) as unknown)
    );
  }

  it.each([
    ['POST /v1/orgs', OrgsController, 'create'],
    ['POST /v1/orgs/:slug/api-keys', OrgApiKeysController, 'create'],
    ['POST /v1/admin/partner-keys', PartnerKeysController, 'create'],
    ['POST /v1/orgs/:slug/sessions', SessionsController, 'create'],
    ['POST /registry/register', RegistrationController, 'register'],
    ['POST /registry/boot-report', RegistrationController, 'bootReport'],
    ['POST /registry/token/rotate', RegistrationController, 'rotate'],
  ] as const)('%s takes or mints credentials: the auth policy', (_route, controller, handler) => {
    expect(policyOf(controller, handler)).toBe('auth');
  });
});

describe('api rate limits (integration)', () => {
  let service: TestService;
  let replica: NestFastifyApplication;

  beforeAll(async () => {
    service = await startTestService(apiService, {
      RATE_LIMIT_DEFAULT: '8',
      RATE_LIMIT_AUTH: '3',
      RATE_LIMIT_PUBLIC: '4',
    });
    // A second replica: the same configuration, database and Redis prefix.
    replica = await createServiceApp(apiService, service.config);
  });

  afterAll(async () => {
    await replica?.close();
    await service?.close();
  });

  const createOrgAs = (app: NestFastifyApplication, token: string, slug: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/orgs',
      headers: { authorization: `Bearer ${token}` },
      payload: { slug, name: slug },
    });
  const orgExists = async (slug: string) =>
    (await service.db.dataSource.getRepository(Org).countBy({ slug })) > 0;

  it('refuses the org creation after RATE_LIMIT_AUTH, without writing anything', async () => {
    const { token } = await createPartnerKey(service.db.dataSource, ['orgs:create']);
    for (const n of [1, 2, 3]) {
      expect((await createOrgAs(service.app, token, `rl-first-${n}`)).statusCode).toBe(202);
    }
    expectLimited(await createOrgAs(service.app, token, 'rl-first-4'));
    expect(await orgExists('rl-first-4')).toBe(false);

    // Another partner is not held back by the first one.
    const other = await createPartnerKey(service.db.dataSource, ['orgs:create']);
    expect((await createOrgAs(service.app, other.token, 'rl-other-1')).statusCode).toBe(202);
  });

  it('counts across replicas sharing the Redis prefix', async () => {
    const { token } = await createPartnerKey(service.db.dataSource, ['orgs:create']);
    expect((await createOrgAs(service.app, token, 'rl-replica-1')).statusCode).toBe(202);
    expect((await createOrgAs(replica, token, 'rl-replica-2')).statusCode).toBe(202);
    expect((await createOrgAs(service.app, token, 'rl-replica-3')).statusCode).toBe(202);
    expectLimited(await createOrgAs(replica, token, 'rl-replica-4'));
    expectLimited(await createOrgAs(service.app, token, 'rl-replica-5'));
  });

  it('limits the public status page per client address; a forged X-Forwarded-For does not help', async () => {
    const org = await createOrg(service.db.dataSource);
    const page = (remoteAddress: string, forwardedFor?: string) =>
      service.app.inject({
        method: 'GET',
        url: `/orgs/${org.slug}/status`,
        remoteAddress,
        headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
      });
    for (let i = 0; i < 4; i++) expect((await page('198.51.100.7')).statusCode).toBe(200);
    expectLimited(await page('198.51.100.7'));
    expectLimited(await page('198.51.100.7', '203.0.113.99'));
    expect((await page('198.51.100.8')).statusCode).toBe(200);
  });

  it('keys org key callers by key: one org key at its limit leaves the others alone', async () => {
    const org = await createOrg(service.db.dataSource);
    const noisy = await createOrgKey(service.db.dataSource, org.id, 'viewer');
    const quiet = await createOrgKey(service.db.dataSource, org.id, 'viewer');
    const read = (token: string) =>
      service.app.inject({
        method: 'GET',
        url: `/v1/orgs/${org.slug}`,
        headers: { authorization: `Bearer ${token}` },
      });
    for (let i = 0; i < 8; i++) expect((await read(noisy.token)).statusCode).toBe(200);
    expectLimited(await read(noisy.token));
    expect((await read(quiet.token)).statusCode).toBe(200);
  });

  it('never limits the probes or the metrics scrape', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      for (let i = 0; i < 12; i++) {
        expect((await service.app.inject({ method: 'GET', url })).statusCode).toBe(200);
      }
    }
  });

  it('counts refused requests by route in /metrics', async () => {
    const text = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(
      /rate_limited_requests_total\{[^}]*route="\/v1\/orgs"[^}]*policy="auth"[^}]*\} [1-9]/,
    );
  });
});

describe('registry rate limits (integration)', () => {
  let service: TestService;
  let tokens: WorkspaceTokens;
  let org: Org;

  beforeAll(async () => {
    service = await startTestService(registryService, {
      RATE_LIMIT_DEFAULT: '3',
      RATE_LIMIT_AUTH: '2',
      HEALTH_SWEEP_INTERVAL_SECONDS: '3600',
    });
    tokens = new WorkspaceTokens(service.db.dataSource);
    org = await createOrg(service.db.dataSource);
  });

  afterAll(async () => {
    await service?.close();
  });

  const post = (url: string, token: string, body: object) =>
    service.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${token}` },
      payload: body,
    });

  async function registered(): Promise<{ id: string; sessionToken: string }> {
    const ws = await createWorkspace(service.db.dataSource, org.id, { status: 'booting' });
    const bootstrap = await tokens.issueBootstrap(ws.id, randomUUID(), 60);
    const response = await post('/registry/register', bootstrap, { workspaceId: ws.id });
    expect(response.statusCode).toBe(200);
    return { id: ws.id, sessionToken: response.json<{ sessionToken: string }>().sessionToken };
  }

  it('limits registration per workspace, not per address', async () => {
    const first = await registered();
    expect(
      (await post('/registry/register', first.sessionToken, { workspaceId: first.id })).statusCode,
    ).toBe(200);
    expectLimited(await post('/registry/register', first.sessionToken, { workspaceId: first.id }));
    // Every workspace here calls from 127.0.0.1, and each still has its own allowance.
    const second = await registered();
    expect(
      (await post('/registry/register', second.sessionToken, { workspaceId: second.id }))
        .statusCode,
    ).toBe(200);
  });

  // POST /registry/heartbeat is served outside Nest's pipeline (HeartbeatRoute), where no guard
  // runs: never limited, as a hot path that must not pay a Redis round trip per beat.
  it('never limits heartbeats, far past RATE_LIMIT_DEFAULT', async () => {
    const { sessionToken } = await registered();
    for (let i = 0; i < 15; i++) {
      const beat = await post('/registry/heartbeat', sessionToken, {
        status: 'ok',
        activeTasks: 0,
        errorRate: 0,
      });
      expect(beat.statusCode).toBe(200);
    }
  });
});
