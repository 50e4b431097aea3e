import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { WorkspaceTokens } from '@molecule/auth';
import { OperationsRepository, type Org } from '@molecule/database';
import {
  OrgEventFeed,
  OrgEvents,
  orgEventsChannel,
  orgEventsKey,
  type OrgEventEnvelope,
} from '@molecule/events';
import { createServiceApp } from '@molecule/platform';
import { REDIS } from '@molecule/redis';
import {
  createOrg,
  createOrgKey,
  createSessionToken,
  createWorkspace,
  eventually,
  startTestSystem,
  type TestSystem,
} from '@molecule/testing';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { request, type ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthSweeper } from '../../../registry/src/heartbeats/health-sweeper.service';
import { registryService } from '../../../registry/src/registry.service-definition';
import { apiService } from '../api.service-definition';

interface SseMessage {
  id?: string;
  data?: string;
  comments: string[];
}

/** A raw SSE client: what a browser's EventSource would see, message by message. */
class SseClient {
  readonly messages: SseMessage[] = [];
  ended = false;
  private buffer = '';

  private constructor(private readonly req: ClientRequest) {}

  static open(port: number, path: string, headers: Record<string, string>): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers });
      const client = new SseClient(req);
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`status ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.feed(chunk));
        res.on('close', () => (client.ended = true));
        resolve(client);
      });
      req.on('error', (error) => (client.ended ? undefined : reject(error)));
      req.end();
    });
  }

  /** Events with their ids, in arrival order. */
  events(): { id: string | undefined; event: OrgEventEnvelope }[] {
    return this.messages
      .filter((m) => m.data !== undefined)
      .map((m) => ({ id: m.id, event: JSON.parse(m.data!) as OrgEventEnvelope }));
  }

  async ready(): Promise<this> {
    await eventually('the stream to be live', async () =>
      this.messages.some((m) => m.comments.includes('ready')) ? true : undefined,
    );
    return this;
  }

  async waitForEvents(count: number, what: string) {
    return eventually(what, async () => {
      const events = this.events();
      return events.length >= count ? events : undefined;
    });
  }

  close(): void {
    this.ended = true;
    this.req.destroy();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const message: SseMessage = { comments: [] };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) message.comments.push(line.slice(1).trim());
        else if (line.startsWith('id: ')) message.id = line.slice(4);
        else if (line.startsWith('data: '))
          message.data = (message.data === undefined ? '' : `${message.data}\n`) + line.slice(6);
      }
      if (message.data !== undefined || message.comments.length > 0 || message.id)
        this.messages.push(message);
    }
  }
}

describe('GET /v1/orgs/:slug/events', () => {
  let system: TestSystem;
  let apiA: NestFastifyApplication;
  let apiB: NestFastifyApplication;
  let portA: number;
  let portB: number;
  let orgA: Org;
  let orgB: Org;
  let keyA: string;
  let keyB: string;
  const clients: SseClient[] = [];

  const listen = async (app: NestFastifyApplication) => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.getHttpServer().address() as AddressInfo).port;
  };
  const follow = async (port: number, org: Org, key: string, headers = {}) => {
    const client = await SseClient.open(port, `/v1/orgs/${org.slug}/events`, {
      authorization: `Bearer ${key}`,
      ...headers,
    });
    clients.push(client);
    return client.ready();
  };
  const registry = () => system.app('registry');
  /** A real status change: the runtime of a booting workspace registers with the registry. */
  const registerBooting = async (org: Org) => {
    const ws = await createWorkspace(system.db.dataSource, org.id, { status: 'booting' });
    const bootstrap = await new WorkspaceTokens(system.db.dataSource).issueBootstrap(
      ws.id,
      randomUUID(),
      60,
    );
    const res = await registry().inject({
      method: 'POST',
      url: '/registry/register',
      headers: { authorization: `Bearer ${bootstrap}` },
      payload: { workspaceId: ws.id },
    });
    expect(res.statusCode).toBe(200);
    return ws;
  };
  const statusEvent = (workspaceId: string, status: string, previous: string) => ({
    type: 'workspace.status',
    data: expect.objectContaining({ workspaceId, status, previous }),
  });

  beforeAll(async () => {
    system = await startTestSystem([apiService, registryService], {
      EVENTS_HEARTBEAT_SECONDS: '0.2',
      HEARTBEAT_INTERVAL_SECONDS: '1',
      HEALTH_SWEEP_INTERVAL_SECONDS: '3600',
    });
    apiA = system.app('api');
    // A second replica of the API on the same database and Redis prefix.
    apiB = await createServiceApp(apiService, system.configs.get('api')!, {
      logDestination: system.logs,
    });
    portA = await listen(apiA);
    portB = await listen(apiB);
    orgA = await createOrg(system.db.dataSource);
    orgB = await createOrg(system.db.dataSource);
    keyA = (await createOrgKey(system.db.dataSource, orgA.id, 'viewer')).token;
    keyB = (await createOrgKey(system.db.dataSource, orgB.id, 'viewer')).token;
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await apiB?.close();
    await system?.close();
  });

  it("refuses a request without a key, and another org's key", async () => {
    const url = `/v1/orgs/${orgA.slug}/events`;
    expect((await apiA.inject({ method: 'GET', url })).statusCode).toBe(401);
    const other = await apiA.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${keyB}` },
    });
    // As on the other org routes: the guard refuses an org key used on another org's slug.
    expect(other.statusCode).toBe(403);
    expect(other.body).not.toContain(orgA.id);
  });

  it('refuses a Last-Event-ID it never sent', async () => {
    const res = await apiA.inject({
      method: 'GET',
      url: `/v1/orgs/${orgA.slug}/events`,
      headers: { authorization: `Bearer ${keyA}`, 'last-event-id': 'not-an-id' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'invalid_last_event_id' } });
  });

  it('fans a status change out to the clients of every replica, and only to that org', async () => {
    const onA = await follow(portA, orgA, keyA);
    const alsoOnA = await follow(portA, orgA, keyA);
    const onB = await follow(portB, orgA, keyA);
    const otherOrg = await follow(portA, orgB, keyB);
    // One Redis subscription per API process, however many of its clients follow the org.
    const redis = apiA.get<Redis>(REDIS);
    const channel = orgEventsChannel(system.redisPrefix, orgA.id);
    expect(await redis.pubsub('NUMSUB', channel)).toEqual([channel, 2]);

    // Caused through the registry, a third process: both API replicas learn of it from Redis.
    const ws = await registerBooting(orgA);

    for (const client of [onA, alsoOnA, onB]) {
      const [received] = await client.waitForEvents(1, 'the status change');
      expect(received.event).toMatchObject(statusEvent(ws.id, 'online', 'booting'));
      expect(received.id).toMatch(/^\d+-\d+$/);
      expect(received.event.timestamp).toBe(Number(received.id!.split('-')[0]));
      expect(Object.keys(received.event).sort()).toEqual(['data', 'timestamp', 'type']);
    }
    // The same event, with the same id, on both replicas.
    expect(onA.events()[0].id).toBe(onB.events()[0].id);

    // Org B's client sees its own org's change, and never org A's.
    const wsB = await registerBooting(orgB);
    const [own] = await otherOrg.waitForEvents(1, "org B's status change");
    expect(own.event).toMatchObject(statusEvent(wsB.id, 'online', 'booting'));
    expect(otherOrg.events().map((e) => e.event.data.workspaceId)).toEqual([wsB.id]);
    expect(onA.events().map((e) => e.event.data.workspaceId)).toEqual([ws.id]);

    // Idle streams get heartbeat comments, which keep proxies from closing them.
    await eventually('a heartbeat', async () =>
      onA.messages.some((m) => m.comments.includes('keep-alive')) ? true : undefined,
    );
    for (const client of [onA, alsoOnA, onB, otherOrg]) client.close();

    // Disconnected clients are released, and so is the org's subscription.
    await eventually('the clients to be released', async () =>
      apiA.get(OrgEventFeed).followers === 0 && apiB.get(OrgEventFeed).followers === 0
        ? true
        : undefined,
    );
    await eventually('the subscription to be released', async () => {
      const [, subscribers] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
      return subscribers === 0 ? true : undefined;
    });
  });

  it('delivers a change made through API replica B to a client of replica A', async () => {
    const onA = await follow(portA, orgA, keyA);
    const member = (await createOrgKey(system.db.dataSource, orgA.id, 'member')).token;
    const ws = await createWorkspace(system.db.dataSource, orgA.id, { status: 'online' });
    const deleted = await apiB.inject({
      method: 'DELETE',
      url: `/v1/orgs/${orgA.slug}/workspaces/${ws.id}`,
      headers: { authorization: `Bearer ${member}` },
    });
    expect(deleted.statusCode).toBe(202);
    const [received] = await onA.waitForEvents(1, 'the change made on replica B');
    expect(received.event).toMatchObject(statusEvent(ws.id, 'deleting', 'online'));
    onA.close();
  });

  it('resumes after Last-Event-ID on another replica: nothing missed, nothing repeated', async () => {
    const first = await follow(portA, orgA, keyA);
    const ws = await registerBooting(orgA);
    const [online] = await first.waitForEvents(1, 'the first change');
    expect(online.event).toMatchObject(statusEvent(ws.id, 'online', 'booting'));
    first.close();

    // While the client is away: the workspace reports degraded and the health sweep applies it,
    // and a second workspace comes online.
    const { token } = await createSessionToken(system.db.dataSource, ws.id);
    const beat = await registry().inject({
      method: 'POST',
      url: '/registry/heartbeat',
      headers: { authorization: `Bearer ${token}` },
      payload: { status: 'degraded', activeTasks: 0, errorRate: 0 },
    });
    expect(beat.statusCode).toBe(200);
    await registry().get(HealthSweeper).sweep();
    const second = await registerBooting(orgA);

    const resumed = await follow(portB, orgA, keyA, { 'last-event-id': online.id! });
    const events = await resumed.waitForEvents(2, 'the missed changes');
    expect(events.map((e) => e.event)).toEqual([
      expect.objectContaining(statusEvent(ws.id, 'degraded', 'online')),
      expect.objectContaining(statusEvent(second.id, 'online', 'booting')),
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(2);

    // Live again after the catch-up, without repeating what it replayed.
    const third = await registerBooting(orgA);
    const all = await resumed.waitForEvents(3, 'the next live change');
    expect(all[2].event).toMatchObject(statusEvent(third.id, 'online', 'booting'));
    expect(all.map((e) => e.event.data.workspaceId)).toEqual([ws.id, second.id, third.id]);
    resumed.close();
  });

  it('accepts the resume point as a query parameter too', async () => {
    const live = await follow(portA, orgA, keyA);
    const ws = await registerBooting(orgA);
    const [event] = await live.waitForEvents(1, 'a change');
    live.close();
    const later = await registerBooting(orgA);
    const resumed = await SseClient.open(
      portA,
      `/v1/orgs/${orgA.slug}/events?lastEventId=${encodeURIComponent(event.id!)}`,
      { authorization: `Bearer ${keyA}` },
    );
    clients.push(resumed);
    const [next] = await resumed.waitForEvents(1, 'the change after the query id');
    expect(next.event).toMatchObject(statusEvent(later.id, 'online', 'booting'));
    expect(resumed.events().some((e) => e.event.data.workspaceId === ws.id)).toBe(false);
    resumed.close();
  });

  it('tells a client that resumes from before the retained window to resync', async () => {
    const org = await createOrg(system.db.dataSource);
    const { token } = await createOrgKey(system.db.dataSource, org.id, 'viewer');
    const events = apiA.get(OrgEvents);
    const redis = apiA.get<Redis>(REDIS);
    const key = orgEventsKey(system.redisPrefix, org.id);
    for (let i = 0; i < 4; i++)
      await events.publish(org.id, 'provisioning.progress', {
        operationId: randomUUID(),
        kind: 'org.provision',
        resourceType: 'org',
        resourceId: org.id,
        status: 'running',
        percent: i * 25,
      });
    const ids = (await redis.xrange(key, '-', '+')).map(([id]) => id);
    expect(ids).toHaveLength(4);
    // The window moves on: the two oldest events are trimmed away.
    await redis.xtrim(key, 'MAXLEN', 2);

    const resumed = await follow(portA, org, token, { 'last-event-id': ids[0] });
    const received = await resumed.waitForEvents(3, 'the resync and the retained events');
    expect(received[0]).toMatchObject({ id: ids[0], event: { type: 'events.resync' } });
    expect(received.slice(1).map((e) => e.id)).toEqual(ids.slice(2));

    // Within the window, the same stream resumes exactly.
    const exact = await follow(portB, org, token, { 'last-event-id': ids[2] });
    const [only] = await exact.waitForEvents(1, 'the one event after the resume point');
    expect(only.id).toBe(ids[3]);
    expect(exact.events()).toHaveLength(1);
    resumed.close();
    exact.close();
  });

  it("refreshes the per-org provisioning stream on its operation's events, sooner than its poll", async () => {
    const ds = system.db.dataSource;
    const org = await createOrg(ds, { status: 'provisioning' });
    const { token } = await createOrgKey(ds, org.id, 'viewer');
    const operations = new OperationsRepository(ds);
    const operation = await operations.create(ds.manager, {
      resourceType: 'org',
      resourceId: org.id,
      orgId: org.id,
      kind: 'org.provision',
      idempotencyKey: randomUUID(),
    });
    await operations.begin(operation.id);
    const client = await SseClient.open(portA, `/v1/orgs/${org.slug}/provisioning/events`, {
      authorization: `Bearer ${token}`,
    });
    clients.push(client);
    const views = () =>
      client.messages
        .filter((m) => m.data !== undefined)
        .map((m) => JSON.parse(m.data!) as { steps: { name: string; state: string }[] });
    await eventually('the first snapshot', async () => (views().length > 0 ? true : undefined));

    // What the provisioner's operation runner does for a step, published from another replica.
    const started = Date.now();
    await operations.startStep(operation.id, 'generate-credential');
    await operations.endStep(operation.id, 'generate-credential', {});
    await apiB.get(OrgEvents).publish(org.id, 'provisioning.step', {
      operationId: operation.id,
      kind: 'org.provision',
      resourceType: 'org',
      resourceId: org.id,
      step: 'generate-credential',
      state: 'done',
    });
    await eventually(
      'a snapshot with the step done',
      async () => (views().some((v) => v.steps[0].state === 'done') ? true : undefined),
      1_500,
      20,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    client.close();
  });

  it('stores events under the configured prefix and lets them expire with the window', async () => {
    const ws = await registerBooting(orgA);
    const redis = apiA.get<Redis>(REDIS);
    const key = orgEventsKey(system.redisPrefix, orgA.id);
    expect(key.startsWith(`${system.redisPrefix}:`)).toBe(true);
    const entries = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
    expect(entries[0][1].join(' ')).toContain(ws.id);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(system.configs.get('api')!.events.retentionSeconds * 1000);
  });
});
