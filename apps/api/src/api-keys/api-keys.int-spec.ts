import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent, type Org } from '@molecule/database';
import {
  createOrg,
  createOrgKey,
  startTestService,
  TEST_ADMIN_TOKEN,
  type TestService,
} from '@molecule/testing';
import { apiService } from '../api.service-definition';

describe('API keys and the audit trail', () => {
  let service: TestService;
  let org: Org;
  let other: Org;

  beforeAll(async () => {
    service = await startTestService(apiService);
    org = await createOrg(service.db.dataSource, { slug: 'keyed' });
    other = await createOrg(service.db.dataSource, { slug: 'elsewhere' });
  });

  afterAll(async () => {
    await service.close();
  });

  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, token?: string, body?: object) =>
    service.app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body ? { payload: body } : {}),
    });

  describe('partner keys', () => {
    it('are created once-revealed, listed without secrets, and revoked by the platform admin', async () => {
      const created = await call('POST', '/v1/admin/partner-keys', TEST_ADMIN_TOKEN, {
        name: 'crm',
        scopes: ['orgs:create', 'orgs:read'],
      });
      expect(created.statusCode).toBe(201);
      const { key, token } = created.json<{ key: { id: string; prefix: string }; token: string }>();
      expect(token).toMatch(/^mol_pk_[A-Za-z0-9_-]{43}$/);
      expect(token.startsWith(key.prefix)).toBe(true);

      const list = await call('GET', '/v1/admin/partner-keys', TEST_ADMIN_TOKEN);
      expect(list.body).not.toContain(token);
      expect(list.body).not.toContain('tokenHash');
      expect(list.json<{ keys: { id: string }[] }>().keys.map((k) => k.id)).toContain(key.id);

      expect((await call('GET', '/v1/orgs', token)).statusCode).toBe(200);
      expect(
        (await call('DELETE', `/v1/admin/partner-keys/${key.id}`, TEST_ADMIN_TOKEN)).statusCode,
      ).toBe(204);
      expect((await call('GET', '/v1/orgs', token)).statusCode).toBe(401);
      expect(
        (await call('DELETE', `/v1/admin/partner-keys/${key.id}`, TEST_ADMIN_TOKEN)).statusCode,
      ).toBe(204);
    });

    it.each([
      [{ name: 'x', scopes: ['orgs:everything'] }],
      [{ name: 'x', scopes: [] }],
      [{ name: 'x', scopes: ['orgs:read'], expiresAt: '2001-01-01T00:00:00Z' }],
      [{ scopes: ['orgs:read'] }],
    ])('refuses bad input %j with 400', async (body) => {
      expect(
        (await call('POST', '/v1/admin/partner-keys', TEST_ADMIN_TOKEN, body)).statusCode,
      ).toBe(400);
    });

    it('are for the platform admin only', async () => {
      const { token } = await createOrgKey(service.db.dataSource, org.id, 'owner');
      expect((await call('GET', '/v1/admin/partner-keys', token)).statusCode).toBe(403);
      expect((await call('GET', '/v1/admin/partner-keys')).statusCode).toBe(401);
    });
  });

  describe('org keys', () => {
    it('let an admin mint keys up to its own role, within its own org', async () => {
      const { token: admin } = await createOrgKey(service.db.dataSource, org.id, 'admin');
      const member = await call('POST', '/v1/orgs/keyed/api-keys', admin, {
        name: 'bot',
        role: 'member',
      });
      expect(member.statusCode).toBe(201);
      expect(
        (await call('POST', '/v1/orgs/keyed/api-keys', admin, { name: 'boss', role: 'owner' }))
          .statusCode,
      ).toBe(403);
      expect(
        (await call('POST', '/v1/orgs/elsewhere/api-keys', admin, { name: 'x', role: 'viewer' }))
          .statusCode,
      ).toBe(403);
      const { token: viewer } = await createOrgKey(service.db.dataSource, org.id, 'viewer');
      expect((await call('GET', '/v1/orgs/keyed/api-keys', viewer)).statusCode).toBe(403);

      const minted = member.json<{ key: { id: string }; token: string }>();
      expect((await call('GET', '/v1/orgs/keyed', minted.token)).statusCode).toBe(200);
      expect(
        (await call('DELETE', `/v1/orgs/elsewhere/api-keys/${minted.key.id}`, TEST_ADMIN_TOKEN))
          .statusCode,
      ).toBe(404);
      expect(
        (await call('DELETE', `/v1/orgs/keyed/api-keys/${minted.key.id}`, admin)).statusCode,
      ).toBe(204);
      expect((await call('GET', '/v1/orgs/keyed', minted.token)).statusCode).toBe(401);
    });
  });

  describe('GET /v1/orgs/:slug/audit', () => {
    it('pages the trail newest first and verifies the chain', async () => {
      await call('POST', '/v1/orgs/keyed/api-keys', TEST_ADMIN_TOKEN, {
        name: 'audited',
        role: 'viewer',
      });
      const first = await call('GET', '/v1/orgs/keyed/audit?limit=2', TEST_ADMIN_TOKEN);
      expect(first.statusCode).toBe(200);
      const page = first.json<{
        events: { seq: string; action: string }[];
        next: string;
        verification: { valid: boolean; events: number };
      }>();
      expect(page.verification.valid).toBe(true);
      expect(page.verification.events).toBeGreaterThanOrEqual(3);
      expect(page.events).toHaveLength(2);
      const rest = await call(
        'GET',
        `/v1/orgs/keyed/audit?limit=50&before=${page.next}`,
        TEST_ADMIN_TOKEN,
      );
      const seqs = [...page.events, ...rest.json<{ events: { seq: string }[] }>().events].map((e) =>
        Number(e.seq),
      );
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      expect(new Set(seqs).size).toBe(page.verification.events);
      // A cursor we never gave out is refused rather than read as "from the start".
      for (const bad of ['x', '-1', '1.5', '9'.repeat(19)]) {
        const refused = await call('GET', `/v1/orgs/keyed/audit?before=${bad}`, TEST_ADMIN_TOKEN);
        expect(refused.statusCode).toBe(400);
      }
    });

    it('detects a tampered event', async () => {
      await service.db.dataSource
        .getRepository(AuditEvent)
        .update({ chain: org.id, seq: '1' }, { actor: 'someone-else' });
      const response = await call('GET', '/v1/orgs/keyed/audit', TEST_ADMIN_TOKEN);
      expect(
        response.json<{ verification: { valid: boolean; brokenAt: { seq: string } } }>()
          .verification,
      ).toMatchObject({
        valid: false,
        brokenAt: { seq: '1' },
      });
    });

    it("refuses another org's key", async () => {
      const { token } = await createOrgKey(service.db.dataSource, other.id, 'owner');
      expect((await call('GET', '/v1/orgs/keyed/audit', token)).statusCode).toBe(403);
    });
  });

  describe('GET /v1/admin/audit', () => {
    it('pages the platform trail (partner keys) for the platform admin only', async () => {
      const created = await call('POST', '/v1/admin/partner-keys', TEST_ADMIN_TOKEN, {
        name: 'audited partner',
        scopes: ['orgs:read'],
      });
      const { key, token: partner } = created.json<{ key: { id: string }; token: string }>();
      await call('DELETE', `/v1/admin/partner-keys/${key.id}`, TEST_ADMIN_TOKEN);

      const first = await call('GET', '/v1/admin/audit?limit=1', TEST_ADMIN_TOKEN);
      expect(first.statusCode).toBe(200);
      const page = first.json<{
        events: { seq: string; action: string; target: string; actor: string }[];
        next: string;
        verification: { valid: boolean; events: number };
      }>();
      expect(page.events).toEqual([
        expect.objectContaining({
          action: 'partner-key.revoke',
          target: `api-key:${key.id}`,
          actor: 'platform-admin',
        }),
      ]);
      expect(page.verification).toMatchObject({ valid: true });
      const rest = await call('GET', `/v1/admin/audit?before=${page.next}`, TEST_ADMIN_TOKEN);
      expect(rest.json<{ events: { action: string; target: string }[] }>().events).toContainEqual(
        expect.objectContaining({ action: 'partner-key.create', target: `api-key:${key.id}` }),
      );
      // Nothing of any org's chain, and never the partner's secret.
      expect(rest.body).not.toContain(partner);
      expect(
        rest.json<{ events: { action: string }[] }>().events.map((e) => e.action),
      ).not.toContain('api-key.create');

      expect((await call('GET', '/v1/admin/audit?before=x', TEST_ADMIN_TOKEN)).statusCode).toBe(
        400,
      );
      const { token: owner } = await createOrgKey(service.db.dataSource, org.id, 'owner');
      expect((await call('GET', '/v1/admin/audit', owner)).statusCode).toBe(403);
      expect((await call('GET', '/v1/admin/audit')).statusCode).toBe(401);
    });
  });
});
