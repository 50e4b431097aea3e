import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getQueueToken } from '@nestjs/bullmq';
import { AuditEvent, Operation, SecretValue, Workspace, type Org } from '@molecule/database';
import { QueueName } from '@molecule/jobs';
import {
  createOrg,
  createOrgKey,
  createWorkspace,
  startTestService,
  TEST_ADMIN_TOKEN,
  type TestService,
} from '@molecule/testing';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { decodeEntries, orgEventsKey } from '@molecule/events';
import { REDIS } from '@molecule/redis';
import { randomUUID } from 'node:crypto';
import { apiService } from '../api.service-definition';

describe('workspaces and secrets API', () => {
  let service: TestService;
  let org: Org;
  let queue: Queue;

  beforeAll(async () => {
    service = await startTestService(apiService);
    org = await createOrg(service.db.dataSource, { slug: 'agents' });
    queue = service.app.get<Queue>(getQueueToken(QueueName.Provisioning));
  });

  afterAll(async () => {
    await service.close();
  });

  const call = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    body?: object,
    token = TEST_ADMIN_TOKEN,
  ) =>
    service.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(body ? { payload: body } : {}),
    });
  const state = async () => ({
    workspaces: await service.db.dataSource.getRepository(Workspace).count(),
    operations: await service.db.dataSource.getRepository(Operation).count(),
    jobs: Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0),
  });

  it('lists the runtime catalog publicly', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/v1/runtimes' });
    expect(response.statusCode).toBe(200);
    const runtimes = response.json<{ runtimes: { id: string; requiredKeys: string[] }[] }>()
      .runtimes;
    expect(runtimes.find((r) => r.id === 'claude-agent')?.requiredKeys).toEqual([
      'ANTHROPIC_API_KEY',
    ]);
  });

  it('refuses a deploy missing required keys with 422 naming them, and queues nothing', async () => {
    const before = await state();
    const response = await call('POST', '/v1/orgs/agents/workspaces', {
      name: 'writer',
      runtime: 'claude-agent',
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({
      error: { code: 'missing_required_keys', details: { missing: ['ANTHROPIC_API_KEY'] } },
    });
    expect(await state()).toEqual(before);
  });

  it('accepts the key from the org secrets or from the deploy, and never returns a value', async () => {
    const put = await call('PUT', '/v1/orgs/agents/secrets/ANTHROPIC_API_KEY', {
      value: 'sk-org-secret-value-123',
    });
    expect(put.statusCode).toBe(200);
    const created = await call('POST', '/v1/orgs/agents/workspaces', {
      name: 'writer',
      runtime: 'claude-agent',
    });
    expect(created.statusCode).toBe(202);
    const { workspace, operation } = created.json<{
      workspace: { id: string; status: string };
      operation: { id: string };
    }>();
    expect(workspace.status).toBe('pending');
    expect((await queue.getJob(operation.id))?.data).toEqual({
      operationId: operation.id,
      idempotencyKey: expect.any(String),
      orgId: org.id,
      workspaceId: workspace.id,
    });

    const own = await call('POST', '/v1/orgs/agents/workspaces', {
      name: 'other',
      runtime: 'openai-agent',
      secrets: { OPENAI_API_KEY: 'sk-workspace-secret-456' },
    });
    expect(own.statusCode).toBe(202);
    const rows = await service.db.dataSource.getRepository(SecretValue).find();
    for (const row of rows) {
      expect(row.ciphertext).toMatch(/^v1\./);
      expect(row.ciphertext).not.toContain('secret-value');
    }
    const list = await call('GET', '/v1/orgs/agents/secrets');
    expect(list.json()).toMatchObject({ secrets: [{ name: 'ANTHROPIC_API_KEY' }] });
    expect(list.body).not.toContain('sk-org-secret-value-123');
    const one = await call('GET', `/v1/orgs/agents/workspaces/${workspace.id}`);
    expect(one.json()).toMatchObject({
      workspace: {
        id: workspace.id,
        runtime: 'claude-agent',
        status: 'pending',
        lastHeartbeatAt: null,
      },
    });
  });

  it.each([
    ['an unknown runtime', { name: 'x', runtime: 'nope' }, 422],
    ['a bad secret name', { name: 'x', runtime: 'reference', secrets: { 'bad-name': 'v' } }, 400],
    [
      'a parent in no org of ours',
      { name: 'x', runtime: 'reference', parentId: '00000000-0000-4000-8000-000000000000' },
      404,
    ],
    ['an unknown field', { name: 'x', runtime: 'reference', gpu: true }, 400],
    ['a bad tier', { name: 'x', runtime: 'reference', tier: 'huge' }, 400],
  ])('refuses %s and queues nothing', async (_case, body, status) => {
    const before = await state();
    expect((await call('POST', '/v1/orgs/agents/workspaces', body)).statusCode).toBe(status);
    expect(await state()).toEqual(before);
  });

  it("keeps orgs apart: another org's key cannot deploy or read here", async () => {
    const other = await createOrg(service.db.dataSource);
    const { token } = await createOrgKey(service.db.dataSource, other.id, 'owner');
    expect(
      (await call('POST', '/v1/orgs/agents/workspaces', { name: 'x', runtime: 'reference' }, token))
        .statusCode,
    ).toBe(403);
    expect((await call('GET', '/v1/orgs/agents/workspaces', undefined, token)).statusCode).toBe(
      403,
    );
    expect((await call('GET', '/v1/orgs/agents/secrets', undefined, token)).statusCode).toBe(403);
  });

  it('lets a viewer read but not deploy, and a member deploy but not write secrets', async () => {
    const { token: viewer } = await createOrgKey(service.db.dataSource, org.id, 'viewer');
    const { token: member } = await createOrgKey(service.db.dataSource, org.id, 'member');
    expect((await call('GET', '/v1/orgs/agents/workspaces', undefined, viewer)).statusCode).toBe(
      200,
    );
    expect(
      (
        await call(
          'POST',
          '/v1/orgs/agents/workspaces',
          { name: 'x', runtime: 'reference' },
          viewer,
        )
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await call(
          'POST',
          '/v1/orgs/agents/workspaces',
          { name: 'child', runtime: 'reference' },
          member,
        )
      ).statusCode,
    ).toBe(202);
    expect(
      (await call('PUT', '/v1/orgs/agents/secrets/X_KEY', { value: 'v' }, member)).statusCode,
    ).toBe(403);
  });

  it('marks a deleted workspace deleting at once and queues its teardown', async () => {
    const created = await call('POST', '/v1/orgs/agents/workspaces', {
      name: 'doomed',
      runtime: 'reference',
    });
    const { workspace } = created.json<{ workspace: { id: string } }>();
    const deleted = await call('DELETE', `/v1/orgs/agents/workspaces/${workspace.id}`);
    expect(deleted.statusCode).toBe(202);
    expect(
      (await service.db.dataSource.getRepository(Workspace).findOneByOrFail({ id: workspace.id }))
        .status,
    ).toBe('deleting');
    const again = await call('DELETE', `/v1/orgs/agents/workspaces/${workspace.id}`);
    expect(again.json<{ operation: { id: string } }>().operation.id).toBe(
      deleted.json<{ operation: { id: string } }>().operation.id,
    );
    // Both changes are announced on the org's live events.
    const redis = service.app.get<Redis>(REDIS);
    const events = decodeEntries(
      await redis.xrange(orgEventsKey(service.config.redis.prefix, org.id), '-', '+'),
    ).filter((record) => record.event.data.workspaceId === workspace.id);
    expect(events.map((record) => [record.event.type, record.event.data.status])).toEqual([
      ['workspace.status', 'pending'],
      ['workspace.status', 'deleting'],
    ]);
  });

  describe('PATCH: the hierarchy and budgets, by org admins only', () => {
    const patch = (id: string, body: object, token = TEST_ADMIN_TOKEN) =>
      call('PATCH', `/v1/orgs/agents/workspaces/${id}`, body, token);
    const row = (id: string) =>
      service.db.dataSource.getRepository(Workspace).findOneByOrFail({ id });
    let top: Workspace;
    let middle: Workspace;
    let bottom: Workspace;

    beforeAll(async () => {
      const db = service.db.dataSource;
      top = await createWorkspace(db, org.id, { name: 'top' });
      middle = await createWorkspace(db, org.id, { name: 'middle', parentId: top.id });
      bottom = await createWorkspace(db, org.id, { name: 'bottom', parentId: middle.id });
    });

    it('moves a workspace, back to the top with null, and audits each move', async () => {
      const moved = await patch(bottom.id, { parentId: top.id });
      expect(moved.statusCode).toBe(200);
      expect(moved.json()).toMatchObject({ workspace: { id: bottom.id, parentId: top.id } });
      expect((await patch(bottom.id, { parentId: null })).statusCode).toBe(200);
      expect((await row(bottom.id)).parentId).toBeNull();
      expect((await patch(bottom.id, { parentId: middle.id })).statusCode).toBe(200);
      const moves = await service.db.dataSource.getRepository(AuditEvent).find({
        where: { action: 'workspace.reparented', target: `workspace:${bottom.id}` },
        order: { seq: 'ASC' },
      });
      expect(moves.map((e) => e.data)).toEqual([
        { from: middle.id, to: top.id },
        { from: top.id, to: null },
        { from: null, to: middle.id },
      ]);
    });

    it.each([
      ['itself', () => ({ id: top.id, parentId: top.id })],
      ['its child', () => ({ id: top.id, parentId: middle.id })],
      ['its grandchild', () => ({ id: top.id, parentId: bottom.id })],
      ['a workspace of no org of ours', () => ({ id: top.id, parentId: randomUUID() })],
    ])('refuses a parent that is %s with 422 and changes nothing', async (_case, target) => {
      const { id, parentId } = target();
      const before = await row(id);
      const response = await patch(id, { parentId });
      expect(response.statusCode).toBe(422);
      expect(await row(id)).toEqual(before);
    });

    it('refuses a parent from another org', async () => {
      const other = await createOrg(service.db.dataSource);
      const foreign = await createWorkspace(service.db.dataSource, other.id);
      expect((await patch(middle.id, { parentId: foreign.id })).statusCode).toBe(422);
      expect((await row(middle.id)).parentId).toBe(top.id);
    });

    it('sets and removes a budget, audited', async () => {
      const set = await patch(middle.id, { budgetCents: 500 });
      expect(set.statusCode).toBe(200);
      expect(set.json()).toMatchObject({ workspace: { budgetCents: 500, spentCents: 0 } });
      expect((await patch(middle.id, { budgetCents: null })).json()).toMatchObject({
        workspace: { budgetCents: null },
      });
      const events = await service.db.dataSource
        .getRepository(AuditEvent)
        .findBy({ action: 'workspace.budget-set', target: `workspace:${middle.id}` });
      expect(events).toHaveLength(2);
    });

    it.each([
      ['nothing to change', {}],
      ['an unknown field', { parentId: null, name: 'renamed' }],
      ['a malformed parent id', { parentId: 'nope' }],
      ['a negative budget', { budgetCents: -1 }],
      ['a fractional budget', { budgetCents: 1.5 }],
    ])('answers 400 for %s', async (_case, body) => {
      const before = await row(middle.id);
      expect((await patch(middle.id, body)).statusCode).toBe(400);
      expect(await row(middle.id)).toEqual(before);
    });

    it('lets only admins change it; another org’s key sees nothing', async () => {
      const member = await createOrgKey(service.db.dataSource, org.id, 'member');
      expect((await patch(middle.id, { parentId: null }, member.token)).statusCode).toBe(403);
      const admin = await createOrgKey(service.db.dataSource, org.id, 'admin');
      expect((await patch(middle.id, { budgetCents: 1 }, admin.token)).statusCode).toBe(200);
      const other = await createOrg(service.db.dataSource);
      const foreign = await createOrgKey(service.db.dataSource, other.id, 'owner');
      expect([403, 404]).toContain(
        (await patch(middle.id, { parentId: null }, foreign.token)).statusCode,
      );
      expect((await row(middle.id)).parentId).toBe(top.id);
    });
  });
});
