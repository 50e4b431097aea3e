import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testInfrastructure } from '@molecule/config';
import { hashToken } from '@molecule/crypto';
import { AuditEvent, type Org } from '@molecule/database';
import {
  createOrg,
  createOrgKey,
  createPartnerKey,
  startTestService,
  TEST_ADMIN_TOKEN,
  type TestService,
} from '@molecule/testing';
import { Redis } from 'ioredis';
import { apiService } from '../api.service-definition';

/**
 * `POST /v1/orgs/:slug/sessions`: who may ask for a sign-in link, what it looks like, and what
 * lands in Redis. Redeeming it at the edge router is tested in
 * apps/edge-router/src/visitor-auth/org-sessions.int-spec.ts.
 */
describe('POST /v1/orgs/:slug/sessions', () => {
  let service: TestService;
  let redis: Redis;
  let org: Org;
  let other: Org;

  beforeAll(async () => {
    service = await startTestService(apiService, {
      BASE_DOMAIN: 'example.com',
      EDGE_PUBLIC_URL: 'https://example.com:8443',
      EDGE_SESSION_TICKET_TTL_SECONDS: '30',
    });
    redis = new Redis(testInfrastructure().redisUrl, { maxRetriesPerRequest: 1 });
    org = await createOrg(service.db.dataSource);
    other = await createOrg(service.db.dataSource);
  });

  afterAll(async () => {
    redis?.disconnect();
    await service?.close();
  });

  const ask = (slug: string, token?: string) =>
    service.app.inject({
      method: 'POST',
      url: `/v1/orgs/${slug}/sessions`,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  it('gives an org key a one-time link to its tenant host, stored only as a hash', async () => {
    const { token, key } = await createOrgKey(service.db.dataSource, org.id, 'viewer');
    const before = Date.now();
    const response = await ask(org.slug, token);
    expect(response.statusCode).toBe(201);
    const body = response.json<{ url: string; ticket: string; expiresAt: string }>();
    expect(body.ticket).toMatch(/^mol_st_[A-Za-z0-9_-]{43}$/);
    expect(body.url).toBe(
      `https://${org.slug}.example.com:8443/_molecule/session?ticket=${body.ticket}`,
    );
    const expires = Date.parse(body.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 29_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30_000);

    const stored = `${service.config.redis.prefix}:edge:ticket:${hashToken(body.ticket)}`;
    expect(JSON.parse((await redis.get(stored))!)).toEqual({
      orgId: org.id,
      keyId: key.id,
      role: 'viewer',
    });
    const ttl = await redis.ttl(stored);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
    // The plaintext ticket is nowhere in Redis, nor in the logs.
    const keys = await redis.keys(`${service.config.redis.prefix}:*`);
    for (const name of keys) {
      expect(name).not.toContain(body.ticket);
      if ((await redis.type(name)) === 'string') {
        expect(await redis.get(name)).not.toContain(body.ticket);
      }
    }
    expect(service.logs.text).not.toContain(body.ticket);
  });

  it('issues a new ticket on every call', async () => {
    const { token } = await createOrgKey(service.db.dataSource, org.id, 'owner');
    const first = (await ask(org.slug, token)).json<{ ticket: string }>().ticket;
    const second = (await ask(org.slug, token)).json<{ ticket: string }>().ticket;
    expect(first).not.toBe(second);
  });

  it('records who asked in the audit trail, without the ticket', async () => {
    const { token, key } = await createOrgKey(service.db.dataSource, org.id, 'member');
    const { ticket } = (await ask(org.slug, token)).json<{ ticket: string }>();
    const events = await service.db.dataSource
      .getRepository(AuditEvent)
      .findBy({ chain: org.id, action: 'session-ticket.create', actor: `org-key:${key.id}` });
    expect(events).toHaveLength(1);
    expect(events[0].target).toBe(`api-key:${key.id}`);
    expect(JSON.stringify(events[0])).not.toContain(ticket);
  });

  it('refuses a request without credential with 401', async () => {
    expect((await ask(org.slug)).statusCode).toBe(401);
  });

  it('refuses a revoked key with 401', async () => {
    const { token } = await createOrgKey(service.db.dataSource, org.id, 'owner', {
      revokedAt: new Date(),
    });
    expect((await ask(org.slug, token)).statusCode).toBe(401);
  });

  it("refuses another org's key with 403", async () => {
    const { token } = await createOrgKey(service.db.dataSource, other.id, 'owner');
    expect((await ask(org.slug, token)).statusCode).toBe(403);
  });

  it('refuses the platform admin token and partner keys with 403: sessions stand on org keys', async () => {
    const { token } = await createPartnerKey(service.db.dataSource, ['orgs:read', 'orgs:create']);
    expect((await ask(org.slug, TEST_ADMIN_TOKEN)).statusCode).toBe(403);
    expect((await ask(org.slug, token)).statusCode).toBe(403);
  });

  it('is described in the OpenAPI document', async () => {
    const document = (await service.app.inject({ method: 'GET', url: '/docs-json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    const operation = document.paths['/v1/orgs/{slug}/sessions']?.post;
    expect(operation?.responses['201']).toBeDefined();
  });
});
