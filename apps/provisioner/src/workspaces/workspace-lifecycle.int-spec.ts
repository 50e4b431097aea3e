import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { COMPUTE_DRIVER, type ComputeDriver } from '@molecule/compute';
import { AuditEvent, Org, Workspace, WorkspaceToken } from '@molecule/database';
import { decodeEntries, orgEventsKey, type OrgEventEnvelope } from '@molecule/events';
import { REDIS } from '@molecule/redis';
import {
  eventually,
  freePort,
  startTestSystem,
  TEST_ADMIN_TOKEN,
  type TestSystem,
} from '@molecule/testing';
import type { Redis } from 'ioredis';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsNull } from 'typeorm';
import { apiService } from '../../../api/src/api.service-definition';
import { registryService } from '../../../registry/src/registry.service-definition';
import { localAgentCommand } from '../compute/compute.module';
import { provisionerService } from '../provisioner.service-definition';

interface InstanceRecord {
  instanceId: string;
  pid: number;
  port: number;
}

/** Workspaces end to end: api + provisioner + registry in-process, real agent processes. */
describe('workspace lifecycle (local driver, reference agent)', () => {
  let system: TestSystem;
  let compute: ComputeDriver;
  const restarted: ChildProcess[] = [];

  beforeAll(async () => {
    const registryPort = await freePort();
    system = await startTestSystem([apiService, provisionerService, registryService], {
      REGISTRY_PORT: String(registryPort),
      HEARTBEAT_INTERVAL_SECONDS: '0.5',
      HEARTBEAT_MISSED_BEFORE_OFFLINE: '2',
      HEALTH_SWEEP_INTERVAL_SECONDS: '0.5',
      RECONCILE_INTERVAL_SECONDS: '3600',
      TENANT_HEALTH_TIMEOUT_SECONDS: '30',
    });
    await system.app('registry').listen({ port: registryPort, host: '127.0.0.1' });
    compute = system.app('provisioner').get(COMPUTE_DRIVER);
    const org = await api('POST', '/v1/orgs', { slug: 'fleet', name: 'Fleet' });
    expect(org.statusCode).toBe(202);
    await eventually(
      'fleet running',
      async () => ((await orgRow()).status === 'running' ? true : undefined),
      30_000,
    );
  });

  afterAll(async () => {
    for (const child of restarted) if (child.exitCode === null) child.kill('SIGKILL');
    for (const instance of await compute.listManaged())
      await compute.terminate(instance.instanceId);
    await system.close();
  });

  function api(method: 'GET' | 'POST' | 'DELETE', url: string, body?: object) {
    return system.app('api').inject({
      method,
      url,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      ...(body ? { payload: body } : {}),
    });
  }
  const orgRow = () => system.db.dataSource.getRepository(Org).findOneByOrFail({ slug: 'fleet' });
  const workspaceRow = (id: string) =>
    system.db.dataSource.getRepository(Workspace).findOneByOrFail({ id });
  const waitStatus = (id: string, status: string, timeoutMs = 20_000) =>
    eventually(
      `workspace ${id} to be ${status}`,
      async () => ((await workspaceRow(id)).status === status ? true : undefined),
      timeoutMs,
    );
  const instanceOf = (instanceId: string): InstanceRecord =>
    JSON.parse(
      readFileSync(join(system.instancesDir, instanceId, 'instance.json'), 'utf8'),
    ) as InstanceRecord;
  /** The org's live events, as its stream holds them. */
  const orgEvents = async (): Promise<OrgEventEnvelope[]> => {
    const redis = system.app('api').get<Redis>(REDIS);
    const key = orgEventsKey(system.redisPrefix, (await orgRow()).id);
    return decodeEntries(await redis.xrange(key, '-', '+')).map((r) => r.event);
  };
  const statusesOf = async (workspaceId: string) =>
    (await orgEvents())
      .filter((e) => e.type === 'workspace.status' && e.data.workspaceId === workspaceId)
      .map((e) => e.data.status);
  const deploy = async (name: string, runtime = 'reference') => {
    const response = await api('POST', '/v1/orgs/fleet/workspaces', { name, runtime });
    expect(response.statusCode).toBe(202);
    return response.json<{ workspace: { id: string } }>().workspace.id;
  };

  let firstId: string;

  it('deploys a workspace to online, with its agent card, heartbeat and audited stages', async () => {
    const started = Date.now();
    firstId = await deploy('first');
    await waitStatus(firstId, 'online');
    const elapsed = Date.now() - started;
    await eventually(
      'a flushed heartbeat',
      async () => ((await workspaceRow(firstId)).lastHeartbeatAt ? true : undefined),
      5_000,
    );
    const view = (await api('GET', `/v1/orgs/fleet/workspaces/${firstId}`)).json<{
      workspace: {
        status: string;
        agentCard: { name?: string } | null;
        lastHeartbeatAt: string | null;
      };
    }>().workspace;
    expect(view.status).toBe('online');
    expect(view.agentCard).not.toBeNull();
    expect(view.lastHeartbeatAt).not.toBeNull();
    const actions = (
      await system.db.dataSource
        .getRepository(AuditEvent)
        .findBy({ target: `workspace:${firstId}` })
    ).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['workspace.create', 'workspace.launched', 'workspace.registered']),
    );
    expect(elapsed).toBeLessThan(20_000);

    // The org's live events tell the same story, and how far the operation got.
    const statuses = await statusesOf(firstId);
    expect(statuses.slice(0, 2)).toEqual(['pending', 'provisioning']);
    expect(statuses[statuses.length - 1]).toBe('online');
    const done = await eventually('the operation to finish', async () =>
      (await orgEvents()).find(
        (e) =>
          e.type === 'provisioning.progress' &&
          e.data.resourceId === firstId &&
          e.data.status === 'succeeded',
      ),
    );
    expect(done.data).toMatchObject({ kind: 'workspace.provision', percent: 100 });
    const steps = (await orgEvents())
      .filter((e) => e.type === 'provisioning.step' && e.data.resourceId === firstId)
      .map((e) => `${String(e.data.step)}:${String(e.data.state)}`);
    expect(steps).toEqual([
      'launch-instance:running',
      'launch-instance:done',
      'wait-online:running',
      'wait-online:done',
    ]);
  });

  it('goes offline when the agent is killed, and online again when it restarts with its session token', async () => {
    const { providerInstanceId } = await workspaceRow(firstId);
    const instance = instanceOf(providerInstanceId!);
    process.kill(-instance.pid, 'SIGKILL');
    await waitStatus(firstId, 'offline', 10_000);

    const dir = join(system.instancesDir, instance.instanceId);
    const env = Object.fromEntries(
      readFileSync(join(dir, 'molecule.env'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    ) as Record<string, string>;
    const bootstrap = env.WORKSPACE_BOOTSTRAP_TOKEN;
    const agent = localAgentCommand();
    const child = spawn(agent.command, agent.args, {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        ...env,
        MOLECULE_CONFIG: join(dir, 'config.yaml'),
        MOLECULE_ENV_FILE: join(dir, 'molecule.env'),
        MOLECULE_ROLE: 'workspace',
        PORT: String(instance.port),
        HOST: '127.0.0.1',
      },
      stdio: 'ignore',
      detached: true,
    });
    restarted.push(child);
    await waitStatus(firstId, 'online', 15_000);
    const actions = (
      await system.db.dataSource
        .getRepository(AuditEvent)
        .findBy({ target: `workspace:${firstId}` })
    ).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['workspace.offline', 'workspace.re-registered']),
    );
    const statuses = await statusesOf(firstId);
    expect(statuses.slice(statuses.lastIndexOf('offline'))).toEqual(['offline', 'online']);

    // The bootstrap token was spent on the first boot: it never works again.
    const registry = system.configs.get('registry')!;
    const replay = await fetch(`http://127.0.0.1:${registry.ports.registry}/registry/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bootstrap}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workspaceId: firstId }),
    });
    expect(replay.status).toBe(401);
  });

  it('keeps a deleted workspace deleted while its agent keeps heartbeating, and revokes its tokens', async () => {
    const id = await deploy('short-lived');
    await waitStatus(id, 'online');
    const deleted = await api('DELETE', `/v1/orgs/fleet/workspaces/${id}`);
    expect(deleted.statusCode).toBe(202);
    await waitStatus(id, 'deleted');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await workspaceRow(id)).status).toBe('deleted');
    const live = await system.db.dataSource
      .getRepository(WorkspaceToken)
      .countBy({ workspaceId: id, revokedAt: IsNull() });
    expect(live).toBe(0);
  });

  it('deletes the org with all its workspaces: instances terminated, tokens revoked, receipt lists them', async () => {
    const more = [await deploy('a'), await deploy('b')];
    for (const id of more) await waitStatus(id, 'online');
    const live = (
      await system.db.dataSource.getRepository(Workspace).findBy({ orgId: (await orgRow()).id })
    ).filter((w) => w.status !== 'deleted');
    const accepted = await api('DELETE', '/v1/orgs/fleet', { confirm: 'fleet' });
    expect(accepted.statusCode).toBe(202);
    await eventually(
      'fleet deleted',
      async () => ((await orgRow()).status === 'deleted' ? true : undefined),
      60_000,
    );
    for (const w of live) {
      expect((await workspaceRow(w.id)).status).toBe('deleted');
      if (w.providerInstanceId)
        expect(['terminated', undefined]).toContain(
          (await compute.describe(w.providerInstanceId))?.state,
        );
    }
    expect(
      await system.db.dataSource.getRepository(WorkspaceToken).countBy({ revokedAt: IsNull() }),
    ).toBe(0);
    const receipt = (await api('GET', '/v1/orgs/fleet/deletion')).json<{
      receipt: { removed: { 'delete-workspaces': { workspaces: number; workspaceIds: string[] } } };
    }>().receipt;
    expect(receipt.removed['delete-workspaces'].workspaceIds.sort()).toEqual(
      live.map((w) => w.id).sort(),
    );
    for (const w of live) expect((await statusesOf(w.id)).slice(-1)).toEqual(['deleted']);
  });
});
