import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getQueueToken } from '@nestjs/bullmq';
import { Operation, SecretValue, Workspace, type Org } from '@molecule/database';
import { QueueName } from '@molecule/jobs';
import {
  createOrg,
  createOrgKey,
  startTestService,
  TEST_ADMIN_TOKEN,
  type TestService,
} from '@molecule/testing';
import type { Queue } from 'bullmq';
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
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
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
  });
});
