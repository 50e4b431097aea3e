import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Message } from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { COMPUTE_DRIVER, type ComputeDriver } from '@molecule/compute';
import { A2aCall, AuditEvent, Org, Workspace } from '@molecule/database';
import {
  createOrg,
  createOrgKey,
  createSessionToken,
  eventually,
  freePort,
  startTestSystem,
  TEST_ADMIN_TOKEN,
  type TestSystem,
} from '@molecule/testing';
import { randomUUID } from 'node:crypto';
import { apiService } from '../../../api/src/api.service-definition';
import { provisionerService } from '../../../provisioner/src/provisioner.service-definition';
import { registryService } from '../registry.service-definition';

/**
 * Two real reference agents (local driver) talk through the registry's proxy with the
 * `@a2a-js/sdk` client, an older runtime's v0.3 request gets its answer, and a user talks to an
 * agent through the API with an org key.
 */
describe('agents talking through the control plane', () => {
  let system: TestSystem;
  let compute: ComputeDriver;
  let registry: string;
  let leadId: string;
  let workerId: string;
  let loneId: string;

  beforeAll(async () => {
    const registryPort = await freePort();
    system = await startTestSystem([apiService, provisionerService, registryService], {
      REGISTRY_PORT: String(registryPort),
      RECONCILE_INTERVAL_SECONDS: '3600',
    });
    await system.app('registry').listen({ port: registryPort, host: '127.0.0.1' });
    registry = `http://127.0.0.1:${registryPort}`;
    compute = system.app('provisioner').get(COMPUTE_DRIVER);
    expect((await api('POST', '/v1/orgs', { slug: 'talk', name: 'Talk' })).statusCode).toBe(202);
    await eventually(
      'talk running',
      async () => ((await org()).status === 'running' ? true : undefined),
      30_000,
    );
    leadId = await deploy('lead');
    workerId = await deploy('worker', leadId);
    loneId = await deploy('lone');
    for (const id of [leadId, workerId, loneId]) {
      await eventually(
        `workspace ${id} online`,
        async () => ((await workspace(id)).status === 'online' ? true : undefined),
        30_000,
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const instance of (await compute?.listManaged()) ?? [])
      await compute.terminate(instance.instanceId);
    await system?.close();
  });

  function api(
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    body?: object,
    token = TEST_ADMIN_TOKEN,
  ) {
    return system.app('api').inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(body ? { payload: body } : {}),
    });
  }
  const org = () => system.db.dataSource.getRepository(Org).findOneByOrFail({ slug: 'talk' });
  const workspace = (id: string) =>
    system.db.dataSource.getRepository(Workspace).findOneByOrFail({ id });
  async function deploy(name: string, parentId?: string) {
    const response = await api('POST', '/v1/orgs/talk/workspaces', {
      name,
      runtime: 'reference',
      ...(parentId ? { parentId } : {}),
    });
    expect(response.statusCode).toBe(202);
    return response.json<{ workspace: { id: string } }>().workspace.id;
  }
  function sdkClientAs(token: string) {
    const authenticated: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    return new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl: authenticated })],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl: authenticated }),
      }),
    );
  }
  /** The SDK resolves a root-relative card path against the host; give it the full URL. */
  const cardUrl = (id: string) => `${registry}/registry/a2a/${id}/.well-known/agent-card.json`;
  const text = (message: Message) =>
    message.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
  const userMessage = (words: string): Message =>
    ({
      messageId: randomUUID(),
      role: 1,
      parts: [{ content: { $case: 'text', value: words } }],
    }) as unknown as Message;

  it('worker → lead with the SDK client: send and streaming send (v1.0)', async () => {
    const { token } = await createSessionToken(system.db.dataSource, workerId);
    const client = await sdkClientAs(token).createFromUrl(cardUrl(leadId), '');
    expect(client.protocolVersion).toBe('1.0');

    const reply = await client.sendMessage({ message: userMessage('hello lead') } as never);
    expect(text(reply as Message)).toBe('echo: hello lead');

    const streamed: string[] = [];
    for await (const event of client.sendMessageStream({
      message: userMessage('stream please'),
    } as never)) {
      if (event.payload?.$case === 'message') streamed.push(text(event.payload.value));
    }
    expect(streamed).toEqual(['echo: stream please']);

    // A plain call is recorded before its answer, a stream once it has ended: wait for it.
    const methods = await eventually('both calls recorded', async () => {
      const calls = await system.db.dataSource
        .getRepository(A2aCall)
        .findBy({ callerWorkspaceId: workerId, targetWorkspaceId: leadId, outcome: 'ok' });
      return calls.length >= 2 ? calls.map((c) => c.method).sort() : undefined;
    });
    expect(methods).toEqual(['SendMessage', 'SendStreamingMessage']);
  });

  it('an older runtime’s v0.3 message/send (no A2A-Version) gets its answer', async () => {
    const { token } = await createSessionToken(system.db.dataSource, leadId);
    const response = await fetch(`${registry}/registry/a2a/${workerId}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'message/send',
        params: {
          message: {
            kind: 'message',
            messageId: 'legacy-1',
            role: 'user',
            parts: [{ kind: 'text', text: 'hi from 0.3' }],
          },
        },
      }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      jsonrpc: '2.0',
      id: 7,
      result: {
        kind: 'message',
        role: 'agent',
        parts: [{ kind: 'text', text: 'echo: hi from 0.3' }],
      },
    });
  });

  it('keeps a workspace away from another tree until an admin moves it, and audits the move', async () => {
    const { token } = await createSessionToken(system.db.dataSource, loneId);
    const client = sdkClientAs(token);
    // lone is a top-level sibling of lead, but worker is lead's child: lone's nephew.
    const denied = await fetch(`${registry}/registry/a2a/${workerId}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {} }),
    });
    expect(denied.status).toBe(403);

    const { token: member } = await createOrgKey(system.db.dataSource, (await org()).id, 'member');
    expect(
      (await api('PATCH', `/v1/orgs/talk/workspaces/${loneId}`, { parentId: leadId }, member))
        .statusCode,
    ).toBe(403);
    const moved = await api('PATCH', `/v1/orgs/talk/workspaces/${loneId}`, { parentId: leadId });
    expect(moved.statusCode).toBe(200);
    expect(moved.json<{ workspace: { parentId: string } }>().workspace.parentId).toBe(leadId);

    const lead = await client.createFromUrl(cardUrl(workerId), '');
    expect(
      text((await lead.sendMessage({ message: userMessage('now siblings') } as never)) as Message),
    ).toBe('echo: now siblings');
    const audit = await system.db.dataSource
      .getRepository(AuditEvent)
      .findBy({ action: 'workspace.reparented', target: `workspace:${loneId}` });
    expect(audit.map((e) => e.data)).toEqual([{ from: null, to: leadId }]);
  });

  it('a user talks to an agent with an org key, plainly and streamed; another org’s key is refused', async () => {
    const talk = await org();
    const { token } = await createOrgKey(system.db.dataSource, talk.id, 'member');
    const plain = await api(
      'POST',
      `/v1/orgs/talk/workspaces/${workerId}/messages`,
      { text: 'hello agent' },
      token,
    );
    expect(plain.statusCode).toBe(200);
    expect(plain.json()).toMatchObject({
      reply: { message: { role: 'ROLE_AGENT', parts: [{ text: 'echo: hello agent' }] } },
    });

    const apiPort = await freePort();
    await system.app('api').listen({ port: apiPort, host: '127.0.0.1' });
    const streamed = await fetch(
      `http://127.0.0.1:${apiPort}/v1/orgs/talk/workspaces/${workerId}/messages`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'stream it', stream: true }),
      },
    );
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await streamed.text()).toContain('echo: stream it');

    const other = await createOrg(system.db.dataSource, { slug: `other-${Date.now()}` });
    const { token: foreign } = await createOrgKey(system.db.dataSource, other.id, 'owner');
    const refused = await api(
      'POST',
      `/v1/orgs/talk/workspaces/${workerId}/messages`,
      { text: 'let me in' },
      foreign,
    );
    expect([403, 404]).toContain(refused.statusCode);
    const sideways = await api(
      'POST',
      `/v1/orgs/${other.slug}/workspaces/${workerId}/messages`,
      { text: 'let me in' },
      foreign,
    );
    expect(sideways.statusCode).toBe(404);
    const { token: viewer } = await createOrgKey(system.db.dataSource, talk.id, 'viewer');
    expect(
      (await api('POST', `/v1/orgs/talk/workspaces/${workerId}/messages`, { text: 'x' }, viewer))
        .statusCode,
    ).toBe(403);
    expect(
      (await api('POST', `/v1/orgs/talk/workspaces/${workerId}/messages`, { text: '' }, token))
        .statusCode,
    ).toBe(400);
  });

  it('lists the org’s A2A activity, newest first, paged, to the org only', async () => {
    const talk = await org();
    const { token } = await createOrgKey(system.db.dataSource, talk.id, 'viewer');
    const all = await api(
      'GET',
      `/v1/orgs/talk/a2a-calls?workspaceId=${workerId}`,
      undefined,
      token,
    );
    expect(all.statusCode).toBe(200);
    const calls = all.json<{ calls: { id: string; createdAt: string; outcome: string }[] }>().calls;
    expect(calls.length).toBeGreaterThanOrEqual(5);
    const times = calls.map((c) => c.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect(calls.map((c) => c.outcome)).toContain('denied');

    const first = await api('GET', '/v1/orgs/talk/a2a-calls?limit=2', undefined, token);
    const page = first.json<{ calls: { id: string }[]; next: string }>();
    expect(page.calls).toHaveLength(2);
    const second = await api(
      'GET',
      `/v1/orgs/talk/a2a-calls?limit=2&before=${page.next}`,
      undefined,
      token,
    );
    const ids = second.json<{ calls: { id: string }[] }>().calls.map((c) => c.id);
    expect(ids).toHaveLength(2);
    expect(ids).not.toContain(page.calls[0].id);
    expect(ids).not.toContain(page.calls[1].id);

    expect(
      (await api('GET', '/v1/orgs/talk/a2a-calls?before=x', undefined, token)).statusCode,
    ).toBe(400);
    const other = await createOrg(system.db.dataSource, { slug: `peek-${Date.now()}` });
    const { token: foreign } = await createOrgKey(system.db.dataSource, other.id, 'owner');
    expect([403, 404]).toContain(
      (await api('GET', '/v1/orgs/talk/a2a-calls', undefined, foreign)).statusCode,
    );
    const own = await api('GET', `/v1/orgs/${other.slug}/a2a-calls`, undefined, foreign);
    expect(own.json<{ calls: unknown[] }>().calls).toEqual([]);
  });
});
