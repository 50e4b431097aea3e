import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { COMPUTE_DRIVER, type ComputeDriver } from '@molecule/compute';
import { AuditEvent, Org, Workspace } from '@molecule/database';
import { decodeEntries, orgEventsKey } from '@molecule/events';
import { REDIS } from '@molecule/redis';
import { eventually, startTestSystem, TEST_ADMIN_TOKEN, type TestSystem } from '@molecule/testing';
import type { Redis } from 'ioredis';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiService } from '../../../api/src/api.service-definition';
import { provisionerService } from '../provisioner.service-definition';

const REPO = join(__dirname, '..', '..', '..', '..');

/** A runtime that boots but never registers is failed after its timeout, with the reason. */
describe('workspace that never registers', () => {
  let system: TestSystem;
  let compute: ComputeDriver;
  const catalogPath = join(tmpdir(), `molecule-catalog-${process.pid}-${Date.now()}.json`);

  beforeAll(async () => {
    const catalog = JSON.parse(
      readFileSync(join(REPO, 'libs/runtimes/src/runtimes.json'), 'utf8'),
    ) as {
      runtimes: Record<string, unknown>[];
    };
    catalog.runtimes[0] = { ...catalog.runtimes[0], provisionTimeoutSeconds: 5 };
    writeFileSync(catalogPath, JSON.stringify(catalog));
    system = await startTestSystem([apiService, provisionerService], {
      RUNTIME_CATALOG: catalogPath,
      // Every host this control plane starts answers /health and nothing else: the tenant
      // host comes up, the workspace runtime never registers.
      LOCAL_AGENT_COMMAND: JSON.stringify([
        process.execPath,
        join(REPO, 'test/fixtures/silent-host.cjs'),
      ]),
      RECONCILE_INTERVAL_SECONDS: '3600',
    });
    compute = system.app('provisioner').get(COMPUTE_DRIVER);
  });

  afterAll(async () => {
    for (const instance of await compute.listManaged())
      await compute.terminate(instance.instanceId);
    await system.close();
    rmSync(catalogPath, { force: true });
  });

  const api = (method: 'GET' | 'POST', url: string, body?: object) =>
    system.app('api').inject({
      method,
      url,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      ...(body ? { payload: body } : {}),
    });

  it('marks it failed with a readable reason and terminates its instance', async () => {
    expect((await api('POST', '/v1/orgs', { slug: 'quiet', name: 'Quiet' })).statusCode).toBe(202);
    await eventually(
      'quiet running',
      async () =>
        (await system.db.dataSource.getRepository(Org).findOneByOrFail({ slug: 'quiet' }))
          .status === 'running'
          ? true
          : undefined,
      20_000,
    );
    const created = await api('POST', '/v1/orgs/quiet/workspaces', {
      name: 'mute',
      runtime: 'reference',
    });
    expect(created.statusCode).toBe(202);
    const id = created.json<{ workspace: { id: string } }>().workspace.id;

    const failed = await eventually(
      'the workspace to fail',
      async () => {
        const row = await system.db.dataSource.getRepository(Workspace).findOneByOrFail({ id });
        return row.status === 'failed' ? row : undefined;
      },
      20_000,
    );
    expect(failed.lastError).toContain('did not register within 5 s');
    const view = (await api('GET', `/v1/orgs/quiet/workspaces/${id}`)).json<{
      workspace: { status: string; lastError: string };
    }>();
    expect(view.workspace).toMatchObject({ status: 'failed', lastError: failed.lastError });
    expect(['terminated', undefined]).toContain(
      (await compute.describe(failed.providerInstanceId!))?.state,
    );
    const audit = await system.db.dataSource
      .getRepository(AuditEvent)
      .findOneBy({ target: `workspace:${id}`, action: 'workspace.failed' });
    expect(audit?.data).toMatchObject({ reason: failed.lastError });

    // The org's live event says so with a reason code; the reason text stays in the API.
    const redis = system.app('api').get<Redis>(REDIS);
    const events = decodeEntries(
      await redis.xrange(orgEventsKey(system.redisPrefix, failed.orgId), '-', '+'),
    ).map((r) => r.event);
    const statuses = events.filter(
      (e) => e.type === 'workspace.status' && e.data.workspaceId === id,
    );
    expect(statuses[statuses.length - 1].data).toEqual({
      workspaceId: id,
      status: 'failed',
      previous: 'booting',
      reason: 'provision_timeout',
    });
    expect(JSON.stringify(events)).not.toContain('did not register');
  });
});
