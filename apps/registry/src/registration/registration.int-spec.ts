import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkspaceTokens } from '@molecule/auth';
import { AuditEvent, Workspace, WorkspaceToken, type Org } from '@molecule/database';
import { createOrg, createWorkspace, startTestService, type TestService } from '@molecule/testing';
import { randomUUID } from 'node:crypto';
import { HealthSweeper } from '../heartbeats/health-sweeper.service';
import { registryService } from '../registry.service-definition';

describe('registry: registration and heartbeats', () => {
  let service: TestService;
  let tokens: WorkspaceTokens;
  let org: Org;

  beforeAll(async () => {
    service = await startTestService(registryService, {
      HEARTBEAT_INTERVAL_SECONDS: '1',
      HEARTBEAT_MISSED_BEFORE_OFFLINE: '2',
      HEALTH_SWEEP_INTERVAL_SECONDS: '3600',
    });
    tokens = new WorkspaceTokens(service.db.dataSource);
    org = await createOrg(service.db.dataSource);
  });

  afterAll(async () => {
    await service.close();
  });

  const post = (url: string, token: string | undefined, body: object) =>
    service.app.inject({
      method: 'POST',
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      payload: body,
    });
  const booting = () => createWorkspace(service.db.dataSource, org.id, { status: 'booting' });
  const workspace = (id: string) =>
    service.db.dataSource.getRepository(Workspace).findOneByOrFail({ id });

  it('exchanges a bootstrap token once for a session token and marks the workspace online', async () => {
    const ws = await booting();
    const bootstrap = await tokens.issueBootstrap(ws.id, randomUUID(), 60);
    const card = { name: 'echo', url: 'http://127.0.0.1:9/a2a' };
    const first = await post('/registry/register', bootstrap, {
      workspaceId: ws.id,
      agentCard: card,
      endpoint: 'http://127.0.0.1:9',
    });
    expect(first.statusCode).toBe(200);
    const body = first.json<{ sessionToken: string; heartbeatIntervalSeconds: number }>();
    expect(body.sessionToken).toMatch(/^mol_ws_/);
    expect(body.heartbeatIntervalSeconds).toBe(1);
    // A self-reported endpoint is not trusted: the address stays what the provisioner recorded.
    expect(await workspace(ws.id)).toMatchObject({
      status: 'online',
      agentCard: card,
      address: null,
    });

    // Used once: never again.
    expect((await post('/registry/register', bootstrap, { workspaceId: ws.id })).statusCode).toBe(
      401,
    );
    // The session token re-registers (after a restart) and gets no new token.
    const again = await post('/registry/register', body.sessionToken, { workspaceId: ws.id });
    expect(again.statusCode).toBe(200);
    expect(again.json()).not.toHaveProperty('sessionToken');
    const stored = await service.db.dataSource
      .getRepository(WorkspaceToken)
      .findBy({ workspaceId: ws.id });
    for (const row of stored) expect(row.tokenHash).not.toBe(body.sessionToken);
    const audit = await service.db.dataSource
      .getRepository(AuditEvent)
      .findBy({ target: `workspace:${ws.id}` });
    expect(audit.map((e) => e.action).sort()).toEqual([
      'workspace.re-registered',
      'workspace.registered',
    ]);
  });

  it('lets only one of two concurrent exchanges of the same bootstrap token win', async () => {
    const ws = await booting();
    const bootstrap = await tokens.issueBootstrap(ws.id, randomUUID(), 60);
    const results = await Promise.all(
      [1, 2, 3].map(() => post('/registry/register', bootstrap, { workspaceId: ws.id })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401, 401]);
  });

  describe('refuses registration with 401', () => {
    it('for an unknown workspace id', async () => {
      const ws = await booting();
      const bootstrap = await tokens.issueBootstrap(ws.id, randomUUID(), 60);
      expect(
        (await post('/registry/register', bootstrap, { workspaceId: randomUUID() })).statusCode,
      ).toBe(401);
    });

    it("for workspace A's bootstrap token used for B", async () => {
      const [a, b] = [await booting(), await booting()];
      const tokenOfA = await tokens.issueBootstrap(a.id, randomUUID(), 60);
      expect((await post('/registry/register', tokenOfA, { workspaceId: b.id })).statusCode).toBe(
        401,
      );
      expect((await workspace(b.id)).status).toBe('booting');
    });

    it('for an expired bootstrap token', async () => {
      const ws = await booting();
      const bootstrap = await tokens.issueBootstrap(ws.id, randomUUID(), 60);
      await service.db.dataSource
        .getRepository(WorkspaceToken)
        .update({ workspaceId: ws.id }, { expiresAt: new Date(Date.now() - 1000) });
      expect((await post('/registry/register', bootstrap, { workspaceId: ws.id })).statusCode).toBe(
        401,
      );
    });

    it('for a revoked session token', async () => {
      const ws = await booting();
      const bootstrap = await tokens.issueBootstrap(ws.id, randomUUID(), 60);
      const { sessionToken } = (
        await post('/registry/register', bootstrap, { workspaceId: ws.id })
      ).json<{ sessionToken: string }>();
      await tokens.revokeAll(ws.id);
      expect(
        (await post('/registry/register', sessionToken, { workspaceId: ws.id })).statusCode,
      ).toBe(401);
      expect(
        (
          await post('/registry/heartbeat', sessionToken, {
            status: 'ok',
            activeTasks: 0,
            errorRate: 0,
          })
        ).statusCode,
      ).toBe(401);
    });

    it('for no token, or a forged X-Workspace-ID', async () => {
      const ws = await booting();
      const response = await service.app.inject({
        method: 'POST',
        url: '/registry/register',
        headers: { 'x-workspace-id': ws.id },
        payload: { workspaceId: ws.id },
      });
      expect(response.statusCode).toBe(401);
    });
  });

  it('records heartbeats in Redis, flushes them in one batch, and marks silent workspaces offline', async () => {
    const ws = await booting();
    const bootstrap = await tokens.issueBootstrap(ws.id, randomUUID(), 60);
    const { sessionToken } = (
      await post('/registry/register', bootstrap, { workspaceId: ws.id })
    ).json<{ sessionToken: string }>();
    const sweeper = service.app.get(HealthSweeper);

    const beat = await post('/registry/heartbeat', sessionToken, {
      status: 'ok',
      activeTasks: 2,
      errorRate: 0.9,
      usage: { tasksTotal: 5 },
    });
    expect(beat.statusCode).toBe(200);
    expect(beat.json()).toEqual({ nextIntervalSeconds: 1 });
    await sweeper.sweep();
    expect((await workspace(ws.id)).status).toBe('degraded');

    await post('/registry/heartbeat', sessionToken, { status: 'ok', activeTasks: 0, errorRate: 0 });
    await sweeper.sweep();
    expect((await workspace(ws.id)).status).toBe('online');

    // Two missed 1 s intervals later, it is offline.
    await sweeper.sweep(Date.now() + 3_000);
    expect((await workspace(ws.id)).status).toBe('offline');
    const actions = (
      await service.db.dataSource.getRepository(AuditEvent).findBy({ target: `workspace:${ws.id}` })
    ).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['workspace.degraded', 'workspace.online', 'workspace.offline']),
    );
  });

  it.each([
    [{ status: 'great', activeTasks: 0, errorRate: 0 }],
    [{ status: 'ok', activeTasks: -1, errorRate: 0 }],
    [{ status: 'ok', activeTasks: 0, errorRate: 2 }],
    [{ status: 'ok', activeTasks: 0, errorRate: 0, extra: true }],
  ])('refuses a malformed heartbeat %j with 400', async (body) => {
    const ws = await booting();
    const bootstrap = await tokens.issueBootstrap(ws.id, randomUUID(), 60);
    const { sessionToken } = (
      await post('/registry/register', bootstrap, { workspaceId: ws.id })
    ).json<{ sessionToken: string }>();
    expect((await post('/registry/heartbeat', sessionToken, body)).statusCode).toBe(400);
  });

  it('never revives a deleting workspace from a late heartbeat or registration', async () => {
    const ws = await booting();
    const bootstrap = await tokens.issueBootstrap(ws.id, randomUUID(), 60);
    const { sessionToken } = (
      await post('/registry/register', bootstrap, { workspaceId: ws.id })
    ).json<{ sessionToken: string }>();
    await service.db.dataSource.getRepository(Workspace).update(ws.id, { status: 'deleting' });
    await post('/registry/heartbeat', sessionToken, { status: 'ok', activeTasks: 0, errorRate: 0 });
    await service.app.get(HealthSweeper).sweep();
    expect((await workspace(ws.id)).status).toBe('deleting');
    expect(
      (await post('/registry/register', sessionToken, { workspaceId: ws.id })).statusCode,
    ).toBe(401);
  });

  it('records a boot report so the workspace explains why it is not online', async () => {
    const ws = await booting();
    const bootstrap = await tokens.issueBootstrap(ws.id, randomUUID(), 60);
    const report = await post('/registry/boot-report', bootstrap, {
      stage: 'install',
      error: 'apt-get failed: no space left',
    });
    expect(report.statusCode).toBe(204);
    expect(await workspace(ws.id)).toMatchObject({
      bootStage: 'install',
      lastError: 'apt-get failed: no space left',
    });
  });
});
