import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { A2aCall, Workspace, WorkspaceStatus } from '@molecule/database';
import {
  createOrg,
  createOrgKey,
  createSessionToken,
  createWorkspace,
  eventually,
  startTestService,
  type TestService,
} from '@molecule/testing';
import type { AddressInfo } from 'node:net';
import { RecordingAgent } from '../../test/recording-agent';
import { HealthSweeper } from '../heartbeats/health-sweeper.service';
import { registryService } from '../registry.service-definition';

/**
 * The A2A proxy's decisions, against a recording stand-in agent: who may reach whom (the
 * hierarchy, never a header), what reaches the agent, limits, budgets and the call records.
 *
 *   org A:           root
 *                  /      \
 *              lead-1     lead-2 (uncle)
 *             /      \        \
 *           me     sibling   cousin
 *           |
 *         child
 *           |
 *       grandchild
 *
 *   org B: stranger
 */
describe('A2A proxy (registry)', () => {
  let service: TestService;
  let agent: RecordingAgent;
  let base: string;
  const ws: Record<string, Workspace> = {};
  let token: string;
  let orgAId: string;
  let orgBId: string;

  beforeAll(async () => {
    agent = new RecordingAgent();
    const address = await agent.start();
    service = await startTestService(registryService, {
      A2A_MAX_RESPONSE_BYTES: String(64 * 1024),
      A2A_TIMEOUT_SECONDS: '1',
    });
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
    const db = service.db.dataSource;
    const orgA = await createOrg(db);
    const orgB = await createOrg(db);
    orgAId = orgA.id;
    orgBId = orgB.id;
    const add = async (name: string, parent?: string, orgId = orgA.id) => {
      ws[name] = await createWorkspace(db, orgId, {
        name,
        parentId: parent ? ws[parent].id : null,
        address,
      });
    };
    await add('root');
    await add('lead-1', 'root');
    await add('lead-2', 'root');
    await add('me', 'lead-1');
    await add('sibling', 'lead-1');
    await add('cousin', 'lead-2');
    await add('child', 'me');
    await add('grandchild', 'child');
    await add('stranger', undefined, orgB.id);
    token = (await createSessionToken(db, ws.me.id)).token;
  });

  afterAll(async () => {
    await service?.close();
    await agent?.stop();
  });

  beforeEach(() => {
    agent.requests.length = 0;
    agent.behaviour = 'answer';
  });

  const send = (
    target: string,
    body: unknown = { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {} },
    headers: Record<string, string> = {},
  ) =>
    fetch(`${base}/registry/a2a/${target}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  describe('who may reach whom', () => {
    it.each(['me', 'sibling', 'lead-1', 'child', 'root', 'grandchild'])(
      'relays to %s',
      async (name) => {
        const response = await send(ws[name].id);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({
          jsonrpc: '2.0',
          id: 1,
          result: { method: 'SendMessage' },
        });
        expect(agent.requests).toHaveLength(1);
      },
    );

    it.each(['cousin', 'lead-2'])(
      'refuses %s with 403, and the agent is never called',
      async (name) => {
        const response = await send(ws[name].id);
        expect(response.status).toBe(403);
        expect(agent.requests).toHaveLength(0);
      },
    );

    it('answers 404 for another org’s workspace and for an unknown id', async () => {
      expect((await send(ws.stranger.id)).status).toBe(404);
      expect((await send('00000000-0000-4000-8000-000000000000')).status).toBe(404);
      expect((await send('not-a-uuid')).status).toBe(400);
      expect(agent.requests).toHaveLength(0);
    });

    it('refuses a call without a workspace session token (401), or with an org key (403)', async () => {
      const none = await fetch(`${base}/registry/a2a/${ws.sibling.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"jsonrpc":"2.0","id":1,"method":"SendMessage"}',
      });
      expect(none.status).toBe(401);
      const orgKey = await createOrgKey(service.db.dataSource, orgAId, 'owner');
      expect(
        (await send(ws.sibling.id, undefined, { authorization: `Bearer ${orgKey.token}` })).status,
      ).toBe(403);
      expect(agent.requests).toHaveLength(0);
    });

    it('ignores forged identity headers: they neither grant anything nor reach the agent', async () => {
      const forged: Record<string, string>[] = [
        { 'x-workspace-id': 'system:anything' },
        { 'x-workspace-id': ws.root.id },
        { 'x-molecule-org-id': orgBId },
        { 'x-molecule-caller': `workspace:${ws.root.id}` },
      ];
      for (const headers of forged) {
        expect((await send(ws.cousin.id, undefined, headers)).status).toBe(403);
        expect((await send(ws.stranger.id, undefined, headers)).status).toBe(404);
      }
      expect(agent.requests).toHaveLength(0);

      const relayed = await send(ws.sibling.id, undefined, {
        'x-workspace-id': 'system:anything',
        'x-molecule-org-id': orgBId,
        'x-molecule-caller': `workspace:${ws.root.id}`,
        cookie: 'session=abc',
      });
      expect(relayed.status).toBe(200);
      const seen = agent.requests[0].headers;
      expect(seen['x-workspace-id']).toBeUndefined();
      expect(seen['x-molecule-org-id']).toBeUndefined();
      expect(seen.authorization).toBeUndefined();
      expect(seen.cookie).toBeUndefined();
      expect(seen['x-molecule-caller']).toBe(`workspace:${ws.me.id}`);
    });

    it('lists as peers exactly the workspaces the caller may reach, with the relation', async () => {
      const response = await fetch(`${base}/registry/peers`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      const { peers } = (await response.json()) as {
        peers: { id: string; relation: string; url: string }[];
      };
      const byId = Object.fromEntries(peers.map((p) => [p.id, p.relation]));
      expect(byId).toEqual({
        [ws['lead-1'].id]: 'parent',
        [ws.sibling.id]: 'sibling',
        [ws.child.id]: 'child',
        [ws.grandchild.id]: 'descendant',
        [ws.root.id]: 'ancestor',
      });
      expect(peers[0].url).toBe(`${service.config.registry.publicUrl}/registry/a2a/${peers[0].id}`);
    });
  });

  describe('what is relayed', () => {
    it('passes A2A-Version and A2A-Extensions through, and the agent’s version back', async () => {
      const response = await send(ws.sibling.id, undefined, {
        'A2A-Version': '1.0',
        'A2A-Extensions': 'https://example.com/ext/v1',
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('a2a-version')).toBe('1.0');
      expect(agent.requests[0].headers['a2a-version']).toBe('1.0');
      expect(agent.requests[0].headers['a2a-extensions']).toBe('https://example.com/ext/v1');
      expect(agent.requests[0].path).toBe('/a2a/jsonrpc');
    });

    it('relays the v0.3 method names, and application/a2a+json bodies', async () => {
      for (const method of ['message/send', 'tasks/get', 'tasks/cancel']) {
        const response = await send(
          ws.sibling.id,
          { jsonrpc: '2.0', id: 'x', method, params: {} },
          { 'content-type': 'application/a2a+json' },
        );
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ id: 'x', result: { method } });
      }
    });

    it('streams SSE through: the first event arrives before the agent ends the stream', async () => {
      agent.behaviour = 'stream';
      const response = await send(ws.sibling.id, {
        jsonrpc: '2.0',
        id: 1,
        method: 'SendStreamingMessage',
        params: {},
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toContain('"n":1');
      agent.release();
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += new TextDecoder().decode(chunk.value);
      }
      expect(rest).toContain('"n":2');
      await eventually('the stream recorded', async () => {
        const calls = await service.db.dataSource
          .getRepository(A2aCall)
          .findBy({ method: 'SendStreamingMessage', streamed: true });
        return calls.length > 0 ? calls : undefined;
      });
    });

    it('serves the target’s agent card pointing at the proxy', async () => {
      const response = await fetch(
        `${base}/registry/a2a/${ws.sibling.id}/.well-known/agent-card.json`,
        { headers: { authorization: `Bearer ${token}` } },
      );
      expect(response.status).toBe(200);
      const card = (await response.json()) as {
        url: string;
        supportedInterfaces: { url: string }[];
      };
      const proxyUrl = `${service.config.registry.publicUrl}/registry/a2a/${ws.sibling.id}`;
      expect(card.url).toBe(proxyUrl);
      expect(card.supportedInterfaces[0].url).toBe(proxyUrl);
      const denied = await fetch(
        `${base}/registry/a2a/${ws.cousin.id}/.well-known/agent-card.json`,
        { headers: { authorization: `Bearer ${token}` } },
      );
      expect(denied.status).toBe(403);
    });
  });

  describe('limits and refusals', () => {
    it('refuses a body of 1 MiB + 1 byte with 413, before the agent', async () => {
      const padding = 'x'.repeat(
        1024 * 1024 + 1 - '{"jsonrpc":"2.0","id":1,"method":"SendMessage","p":""}'.length,
      );
      const body = `{"jsonrpc":"2.0","id":1,"method":"SendMessage","p":"${padding}"}`;
      expect(Buffer.byteLength(body)).toBe(1024 * 1024 + 1);
      const response = await send(ws.sibling.id, body);
      expect(response.status).toBe(413);
      expect(agent.requests).toHaveLength(0);
    });

    it('refuses what is not one relayed JSON-RPC request with 400', async () => {
      for (const body of [
        [{ jsonrpc: '2.0', id: 1, method: 'SendMessage' }],
        { id: 1, method: 'SendMessage' },
        { jsonrpc: '2.0', id: 1, method: 'CreateTaskPushNotificationConfig', params: {} },
        { jsonrpc: '2.0', id: 1, method: 'tasks/pushNotificationConfig/set', params: {} },
      ]) {
        const response = await send(ws.sibling.id, body);
        expect(response.status).toBe(400);
      }
      expect((await send(ws.sibling.id, '{not json')).status).toBe(400);
      expect(agent.requests).toHaveLength(0);
    });

    it('answers 402 when the caller or the target is over its budget', async () => {
      const repo = service.db.dataSource.getRepository(Workspace);
      await repo.update(ws.me.id, { budgetCents: '100', spentCents: '100' });
      try {
        const response = await send(ws.sibling.id);
        expect(response.status).toBe(402);
        expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
          /calling workspace .* over its budget/,
        );
      } finally {
        await repo.update(ws.me.id, { budgetCents: null, spentCents: '0' });
      }
      await repo.update(ws.sibling.id, { budgetCents: '5', spentCents: '7' });
      try {
        expect((await send(ws.sibling.id)).status).toBe(402);
      } finally {
        await repo.update(ws.sibling.id, { budgetCents: null, spentCents: '0' });
      }
      await repo.update(ws.sibling.id, { budgetCents: '50', spentCents: '7' });
      try {
        expect((await send(ws.sibling.id)).status).toBe(200);
      } finally {
        await repo.update(ws.sibling.id, { budgetCents: null, spentCents: '0' });
      }
      expect(agent.requests).toHaveLength(1);
    });

    it('counts the spend workspaces report in heartbeats against their budget', async () => {
      const repo = service.db.dataSource.getRepository(Workspace);
      await repo.update(ws.me.id, { budgetCents: '50' });
      try {
        for (const costCents of [30, 25]) {
          const beat = await fetch(`${base}/registry/heartbeat`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              status: 'ok',
              activeTasks: 0,
              errorRate: 0,
              usage: { tasksTotal: 1, costCents },
            }),
          });
          expect(beat.status).toBeLessThan(300);
        }
        expect((await send(ws.sibling.id)).status).toBe(200);
        await service.app.get(HealthSweeper).sweep();
        expect((await repo.findOneByOrFail({ id: ws.me.id })).spentCents).toBe('55');
        expect((await send(ws.sibling.id)).status).toBe(402);
        // Drained once: a second sweep adds nothing.
        await service.app.get(HealthSweeper).sweep();
        expect((await repo.findOneByOrFail({ id: ws.me.id })).spentCents).toBe('55');
      } finally {
        await repo.update(ws.me.id, { budgetCents: null, spentCents: '0' });
      }
    });

    it('answers 503 with Retry-After when the target is not online', async () => {
      const repo = service.db.dataSource.getRepository(Workspace);
      await repo.update(ws.sibling.id, { status: WorkspaceStatus.Offline });
      try {
        const response = await send(ws.sibling.id);
        expect(response.status).toBe(503);
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      } finally {
        await repo.update(ws.sibling.id, { status: WorkspaceStatus.Online });
      }
      expect(agent.requests).toHaveLength(0);
    });

    it('answers 502 for a reply over the response limit and 504 for an agent that hangs', async () => {
      agent.behaviour = { bytes: 64 * 1024 + 1 };
      expect((await send(ws.sibling.id)).status).toBe(502);
      agent.behaviour = 'hang';
      expect((await send(ws.sibling.id)).status).toBe(504);
    });

    it('records every call without its content', async () => {
      await send(ws.sibling.id, {
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: { message: { parts: [{ text: 'very private words' }] } },
      });
      await send(ws.cousin.id);
      const calls = await service.db.dataSource
        .getRepository(A2aCall)
        .find({ where: { callerWorkspaceId: ws.me.id }, order: { createdAt: 'ASC' } });
      expect(calls.length).toBeGreaterThanOrEqual(2);
      const last = calls.slice(-2);
      expect(last[0]).toMatchObject({
        orgId: orgAId,
        caller: `workspace:${ws.me.id}`,
        targetWorkspaceId: ws.sibling.id,
        method: 'SendMessage',
        outcome: 'ok',
        httpStatus: 200,
      });
      expect(last[1]).toMatchObject({
        targetWorkspaceId: ws.cousin.id,
        outcome: 'denied',
        httpStatus: 403,
      });
      expect(JSON.stringify(calls)).not.toContain('very private words');
    });
  });
});
