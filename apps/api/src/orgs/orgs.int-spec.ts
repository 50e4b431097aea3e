import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getQueueToken } from '@nestjs/bullmq';
import { ApiKey, AuditEvent, Operation, Org } from '@molecule/database';
import { QueueName } from '@molecule/jobs';
import {
  createOrg,
  createOrgKey,
  createPartnerKey,
  startTestService,
  TEST_ADMIN_TOKEN,
  type TestService,
} from '@molecule/testing';
import type { Queue } from 'bullmq';
import { apiService } from '../api.service-definition';

describe('orgs API', () => {
  let service: TestService;
  let queue: Queue;

  beforeAll(async () => {
    service = await startTestService(apiService);
    queue = service.app.get<Queue>(getQueueToken(QueueName.Provisioning));
  });

  afterAll(async () => {
    await service.close();
  });

  const request = (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    token?: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    service.app.inject({
      method,
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(body === undefined ? {} : { payload: body as object }),
    });

  const counts = async () => ({
    orgs: await service.db.dataSource.getRepository(Org).count(),
    operations: await service.db.dataSource.getRepository(Operation).count(),
    jobs: Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0),
  });

  describe('POST /v1/orgs', () => {
    it('creates the org, its operation, an owner key and an audit event, and enqueues', async () => {
      const response = await request('POST', '/v1/orgs', TEST_ADMIN_TOKEN, {
        slug: 'acme',
        name: 'Acme',
      });
      expect(response.statusCode).toBe(202);
      const body = response.json<{
        org: { id: string; slug: string; status: string };
        operation: { id: string };
        links: Record<string, string>;
        ownerKey: { token: string; role: string };
      }>();
      expect(body.org).toMatchObject({ slug: 'acme', status: 'pending' });
      expect(body.links.statusPage).toBe('/orgs/acme/status');
      expect(body.ownerKey.token).toMatch(/^mol_ok_/);
      const job = await queue.getJob(body.operation.id);
      expect(job?.name).toBe('org.provision');
      expect(job?.data).toEqual({
        operationId: body.operation.id,
        idempotencyKey: expect.any(String),
        orgId: body.org.id,
      });
      const audit = await service.db.dataSource
        .getRepository(AuditEvent)
        .findBy({ chain: body.org.id });
      expect(audit.map((e) => e.action)).toEqual(['org.create']);
      // The owner key works, and only for its org.
      expect((await request('GET', '/v1/orgs/acme', body.ownerKey.token)).statusCode).toBe(200);
      const stored = await service.db.dataSource
        .getRepository(ApiKey)
        .findOneByOrFail({ orgId: body.org.id });
      expect(stored.tokenHash).not.toContain(body.ownerKey.token);
    });

    it('replays the same response for the same Idempotency-Key and body', async () => {
      const headers = { 'idempotency-key': 'create-globex-1' };
      const first = await request(
        'POST',
        '/v1/orgs',
        TEST_ADMIN_TOKEN,
        { slug: 'globex', name: 'Globex' },
        headers,
      );
      const before = await counts();
      const second = await request(
        'POST',
        '/v1/orgs',
        TEST_ADMIN_TOKEN,
        { slug: 'globex', name: 'Globex' },
        headers,
      );
      expect(first.statusCode).toBe(202);
      expect(second.statusCode).toBe(202);
      expect(second.json()).toEqual(first.json());
      expect(await counts()).toEqual(before);
      const reused = await request(
        'POST',
        '/v1/orgs',
        TEST_ADMIN_TOKEN,
        { slug: 'globex2', name: 'Other' },
        headers,
      );
      expect(reused.statusCode).toBe(422);
      expect(await counts()).toEqual(before);
    });

    it('creates one org for concurrent requests with the same key', async () => {
      const headers = { 'idempotency-key': 'create-initech' };
      const body = { slug: 'initech', name: 'Initech' };
      const responses = await Promise.all(
        [1, 2, 3].map(() => request('POST', '/v1/orgs', TEST_ADMIN_TOKEN, body, headers)),
      );
      expect(responses.map((r) => r.statusCode)).toEqual([202, 202, 202]);
      expect(new Set(responses.map((r) => r.json<{ org: { id: string } }>().org.id)).size).toBe(1);
      expect(await service.db.dataSource.getRepository(Org).countBy({ slug: 'initech' })).toBe(1);
    });

    it.each([
      ['an invalid slug', { slug: 'Not_A_Label', name: 'x' }, 400],
      ['a too short slug', { slug: 'ab', name: 'x' }, 400],
      ['a reserved slug', { slug: 'admin', name: 'x' }, 400],
      ['consecutive hyphens', { slug: 'xn--abc', name: 'x' }, 400],
      ['a missing name', { slug: 'valid-slug' }, 400],
      ['an unknown field', { slug: 'valid-slug', name: 'x', plan: 'gold' }, 400],
      ['a bad region', { slug: 'valid-slug', name: 'x', region: 'mars' }, 400],
      ['a duplicate slug', { slug: 'acme', name: 'Again' }, 409],
    ])('refuses %s and changes nothing', async (_case, body, status) => {
      const before = await counts();
      const response = await request('POST', '/v1/orgs', TEST_ADMIN_TOKEN, body);
      expect(response.statusCode).toBe(status);
      expect(response.json<{ error: { status: number; message: string } }>().error.status).toBe(
        status,
      );
      expect(await counts()).toEqual(before);
    });

    it('refuses an org key, a partner key without orgs:create, and revoked or expired partner keys', async () => {
      const before = await counts();
      const org = await createOrg(service.db.dataSource);
      const { token: orgKey } = await createOrgKey(service.db.dataSource, org.id, 'owner');
      const { token: readOnly } = await createPartnerKey(service.db.dataSource, ['orgs:read']);
      const { token: revoked } = await createPartnerKey(service.db.dataSource, ['orgs:create'], {
        revokedAt: new Date(),
      });
      const { token: expired } = await createPartnerKey(service.db.dataSource, ['orgs:create'], {
        expiresAt: new Date(Date.now() - 1000),
      });
      const body = { slug: 'not-created', name: 'x' };
      expect((await request('POST', '/v1/orgs', orgKey, body)).statusCode).toBe(403);
      expect((await request('POST', '/v1/orgs', readOnly, body)).statusCode).toBe(403);
      expect((await request('POST', '/v1/orgs', revoked, body)).statusCode).toBe(401);
      expect((await request('POST', '/v1/orgs', expired, body)).statusCode).toBe(401);
      expect((await request('POST', '/v1/orgs', undefined, body)).statusCode).toBe(401);
      expect((await counts()).jobs).toBe(before.jobs);
      expect(await service.db.dataSource.getRepository(Org).countBy({ slug: 'not-created' })).toBe(
        0,
      );
    });
  });

  describe('reading orgs', () => {
    it('lets a partner see only the orgs it created', async () => {
      const { token } = await createPartnerKey(service.db.dataSource, ['orgs:create', 'orgs:read']);
      expect(
        (await request('POST', '/v1/orgs', token, { slug: 'partner-made', name: 'P' })).statusCode,
      ).toBe(202);
      const list = await request('GET', '/v1/orgs', token);
      expect(list.json<{ orgs: { slug: string }[] }>().orgs.map((o) => o.slug)).toEqual([
        'partner-made',
      ]);
      expect((await request('GET', '/v1/orgs/partner-made', token)).statusCode).toBe(200);
      expect((await request('GET', '/v1/orgs/acme', token)).statusCode).toBe(404);
    });

    it("refuses another org's key", async () => {
      const other = await createOrg(service.db.dataSource);
      const { token } = await createOrgKey(service.db.dataSource, other.id, 'owner');
      expect((await request('GET', '/v1/orgs/acme', token)).statusCode).toBe(403);
      expect((await request('GET', '/v1/orgs/acme/provisioning', token)).statusCode).toBe(403);
    });

    it('reports provisioning steps without an ETA when there is no history', async () => {
      const response = await request('GET', '/v1/orgs/acme/provisioning', TEST_ADMIN_TOKEN);
      expect(response.statusCode).toBe(200);
      const view = response.json<{
        status: string;
        percent: number;
        etaSeconds: number | null;
        steps: { name: string; state: string }[];
      }>();
      expect(view).toMatchObject({ status: 'queued', percent: 0, etaSeconds: null });
      expect(view.steps.map((s) => s.state)).toEqual(view.steps.map(() => 'pending'));
    });

    it('serves the public status page with a CSP nonce', async () => {
      const page = await request('GET', '/orgs/acme/status');
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-security-policy']).toContain('nonce-');
      expect(page.body).toContain('progressbar');
      expect((await request('GET', '/orgs/no-such-org/status')).statusCode).toBe(404);
    });
  });

  describe('POST /v1/orgs/:slug/retry', () => {
    it('provisions a failed org again under a new operation, once, and audits it', async () => {
      const org = await createOrg(service.db.dataSource, { status: 'failed' });
      const owner = await createOrgKey(service.db.dataSource, org.id, 'owner');
      const first = await request('POST', `/v1/orgs/${org.slug}/retry`, owner.token);
      expect(first.statusCode).toBe(202);
      const body = first.json<{
        org: { status: string };
        operation: { id: string; kind: string };
      }>();
      expect(body.org.status).toBe('pending');
      expect(body.operation.kind).toBe('org.provision');
      expect((await queue.getJob(body.operation.id))?.data).toMatchObject({
        operationId: body.operation.id,
        orgId: org.id,
      });
      // Repeating it while that operation is unfinished returns the same one.
      const again = await request('POST', `/v1/orgs/${org.slug}/retry`, owner.token);
      expect(again.statusCode).toBe(202);
      expect(again.json<{ operation: { id: string } }>().operation.id).toBe(body.operation.id);
      const audit = await service.db.dataSource
        .getRepository(AuditEvent)
        .findBy({ chain: org.id, action: 'org.provision.retried' });
      expect(audit).toHaveLength(1);
    });

    it('refuses an org that did not fail, and callers without the right', async () => {
      const running = await createOrg(service.db.dataSource, { status: 'running' });
      const before = await counts();
      expect(
        (await request('POST', `/v1/orgs/${running.slug}/retry`, TEST_ADMIN_TOKEN)).statusCode,
      ).toBe(409);
      const failed = await createOrg(service.db.dataSource, { status: 'failed' });
      const member = await createOrgKey(service.db.dataSource, failed.id, 'member');
      expect(
        (await request('POST', `/v1/orgs/${failed.slug}/retry`, member.token)).statusCode,
      ).toBe(403);
      const stranger = await createPartnerKey(service.db.dataSource, ['orgs:create']);
      expect(
        (await request('POST', `/v1/orgs/${failed.slug}/retry`, stranger.token)).statusCode,
      ).toBe(404);
      expect((await request('POST', `/v1/orgs/${failed.slug}/retry`)).statusCode).toBe(401);
      const after = await counts();
      expect(after).toEqual({ ...before, orgs: before.orgs + 1 });
    });
  });

  describe('DELETE /v1/orgs/:slug', () => {
    it('refuses a wrong confirmation and changes nothing', async () => {
      const before = await counts();
      const response = await request('DELETE', '/v1/orgs/acme', TEST_ADMIN_TOKEN, {
        confirm: 'acme-typo',
      });
      expect(response.statusCode).toBe(400);
      expect(await counts()).toEqual(before);
      expect(
        (await service.db.dataSource.getRepository(Org).findOneByOrFail({ slug: 'acme' })).status,
      ).toBe('pending');
    });

    it('marks the org deleting, supersedes provisioning and enqueues the cascade; repeating is safe', async () => {
      const first = await request('DELETE', '/v1/orgs/acme', TEST_ADMIN_TOKEN, { confirm: 'acme' });
      expect(first.statusCode).toBe(202);
      const again = await request('DELETE', '/v1/orgs/acme', TEST_ADMIN_TOKEN, { confirm: 'acme' });
      expect(again.statusCode).toBe(202);
      const [a, b] = [first, again].map(
        (r) => r.json<{ operation: { id: string } }>().operation.id,
      );
      expect(b).toBe(a);
      const org = await service.db.dataSource.getRepository(Org).findOneByOrFail({ slug: 'acme' });
      expect(org.status).toBe('deleting');
      const ops = await service.db.dataSource
        .getRepository(Operation)
        .findBy({ resourceId: org.id });
      expect(ops.find((o) => o.kind === 'org.provision')?.status).toBe('failed');
      expect((await queue.getJob(a))?.name).toBe('org.delete');
      const receipt = await request('GET', '/v1/orgs/acme/deletion', TEST_ADMIN_TOKEN);
      expect(receipt.json()).toMatchObject({ receipt: null, operation: { status: 'queued' } });
    });
  });
});
