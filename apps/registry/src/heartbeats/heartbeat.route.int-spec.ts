import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkspaceTokens } from '@molecule/auth';
import type { Org } from '@molecule/database';
import { createOrg, createWorkspace, startTestService, type TestService } from '@molecule/testing';
import { randomUUID } from 'node:crypto';
import { registryService } from '../registry.service-definition';
import { HeartbeatStore } from './heartbeat.store';

/** The lean heartbeat route; registration.int-spec.ts covers the contract it shares with Nest's. */
describe('registry: POST /registry/heartbeat', () => {
  let service: TestService;
  let tokens: WorkspaceTokens;
  let org: Org;

  beforeAll(async () => {
    service = await startTestService(registryService, {
      HEARTBEAT_INTERVAL_SECONDS: '7',
      HEALTH_SWEEP_INTERVAL_SECONDS: '3600',
    });
    tokens = new WorkspaceTokens(service.db.dataSource);
    org = await createOrg(service.db.dataSource);
  });

  afterAll(async () => {
    await service.close();
  });

  async function session(): Promise<{ id: string; token: string }> {
    const ws = await createWorkspace(service.db.dataSource, org.id, { status: 'booting' });
    const bootstrap = await tokens.issueBootstrap(ws.id, randomUUID(), 60);
    const registered = await service.app.inject({
      method: 'POST',
      url: '/registry/register',
      headers: { authorization: `Bearer ${bootstrap}` },
      payload: { workspaceId: ws.id },
    });
    return { id: ws.id, token: registered.json<{ sessionToken: string }>().sessionToken };
  }

  const beat = (token: string, payload: object, requestId: string = randomUUID()) =>
    service.app.inject({
      method: 'POST',
      url: '/registry/heartbeat',
      headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
      payload,
    });

  it('stores concurrent beats of many workspaces, each answered once Redis has it', async () => {
    const workspaces = await Promise.all(Array.from({ length: 20 }, () => session()));
    const since = Date.now() - 1;
    const answers = await Promise.all(
      workspaces.map(({ token }, i) =>
        beat(token, { status: i % 2 ? 'degraded' : 'ok', activeTasks: i, errorRate: 0 }),
      ),
    );
    expect(answers.map((a) => [a.statusCode, a.json<unknown>()])).toEqual(
      workspaces.map(() => [200, { nextIntervalSeconds: 7 }]),
    );
    const stored = await service.app.get(HeartbeatStore).since(since);
    expect(new Map(stored.map((b) => [b.workspaceId, [b.status, b.activeTasks]]))).toEqual(
      new Map(workspaces.map(({ id }, i) => [id, [i % 2 ? 'degraded' : 'ok', i]])),
    );
  });

  it('answers a malformed beat with the validation envelope and its request id', async () => {
    const { token } = await session();
    const requestId = `bad-beat-${randomUUID()}`;
    const refused = await beat(token, { status: 'ok', activeTasks: -1, errorRate: 0 }, requestId);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({
      error: {
        status: 400,
        code: 'validation_failed',
        message: 'The request body or parameters are invalid',
        details: [{ field: 'activeTasks', problems: ['activeTasks must not be less than 0'] }],
        requestId,
      },
    });
  });

  it('logs refused beats with their request id, never the token, and accepted ones not at all', async () => {
    const { token } = await session();
    const before = service.logs.lines.length;
    const accepted = `accepted-${randomUUID()}`;
    expect(
      (await beat(token, { status: 'ok', activeTasks: 0, errorRate: 0 }, accepted)).statusCode,
    ).toBe(200);
    const refused = `refused-${randomUUID()}`;
    expect(
      (await beat(`${token}x`, { status: 'ok', activeTasks: 0, errorRate: 0 }, refused)).statusCode,
    ).toBe(401);

    const lines = service.logs.lines.slice(before).join('');
    expect(lines).not.toContain(accepted);
    expect(lines).not.toContain(token);
    const entries = service.logs
      .entries()
      .slice(before)
      .filter((entry) => JSON.stringify(entry).includes(refused));
    expect(entries).toEqual([
      expect.objectContaining({
        msg: 'request completed',
        req: expect.objectContaining({ id: refused, method: 'POST', url: '/registry/heartbeat' }),
        res: expect.objectContaining({ statusCode: 401 }),
      }),
    ]);
  });

  it('is documented in the OpenAPI document with the HeartbeatDto schema', async () => {
    const document = (await service.app.inject({ method: 'GET', url: '/docs-json' })).json<{
      paths: Record<string, { post?: { requestBody?: unknown; security?: unknown } }>;
      components: { schemas: Record<string, { required?: string[] }> };
    }>();
    expect(document.paths['/registry/heartbeat']?.post).toMatchObject({
      requestBody: {
        content: { 'application/json': { schema: { $ref: '#/components/schemas/HeartbeatDto' } } },
      },
      security: [{ bearer: [] }],
    });
    expect(document.components.schemas.HeartbeatDto?.required).toEqual([
      'status',
      'activeTasks',
      'errorRate',
    ]);
    expect(document.components.schemas.UsageDto?.required).toEqual(['tasksTotal']);
  });
});
