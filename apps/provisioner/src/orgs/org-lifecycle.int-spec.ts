import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { getQueueToken } from '@nestjs/bullmq';
import { AuditService } from '@molecule/audit';
import { COMPUTE_DRIVER, type ComputeDriver } from '@molecule/compute';
import { EnvelopeCipher } from '@molecule/crypto';
import { ApiKey, AuditEvent, Operation, Org, OrgDataKey, TenantInstance } from '@molecule/database';
import { decodeEntries, orgEventsKey } from '@molecule/events';
import { ORG_PROVISION_STEPS, QueueName } from '@molecule/jobs';
import { REDIS } from '@molecule/redis';
import { CloudflareApiDouble, ROUTE_PUBLISHERS, type RoutePublisher } from '@molecule/routes';
import { eventually, startTestSystem, TEST_ADMIN_TOKEN, type TestSystem } from '@molecule/testing';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { apiService } from '../../../api/src/api.service-definition';
import { provisionerService } from '../provisioner.service-definition';
import { OrphanSweeper } from '../reconcile/orphan-sweeper.service';

/** The whole org lifecycle against real Postgres, Redis and local tenant processes. */
describe('org lifecycle (api + provisioner, local driver)', () => {
  let system: TestSystem;
  let compute: ComputeDriver;
  let routes: RoutePublisher;
  /** Every API response body, to prove the tenant credential never appears in one. */
  const responses: string[] = [];

  let cloudflare: CloudflareApiDouble;

  beforeAll(async () => {
    // Routes go to Redis (the edge router's table) and to Workers KV, here a local double of
    // the Cloudflare API driven by the real SDK.
    const kv = {
      apiToken: 'cf-test-token-0123456789',
      accountId: 'a'.repeat(32),
      namespaceId: 'b'.repeat(32),
    };
    cloudflare = await CloudflareApiDouble.start(kv);
    system = await startTestSystem([apiService, provisionerService], {
      ROUTE_PUBLISHER: 'cloudflare',
      CLOUDFLARE_API_TOKEN: kv.apiToken,
      CLOUDFLARE_ACCOUNT_ID: kv.accountId,
      CLOUDFLARE_KV_NAMESPACE_ID: kv.namespaceId,
      CLOUDFLARE_BASE_URL: cloudflare.baseUrl,
      ORPHAN_GRACE_SECONDS: '0',
      RECONCILE_INTERVAL_SECONDS: '3600',
      TENANT_HEALTH_TIMEOUT_SECONDS: '30',
    });
    compute = system.app('provisioner').get(COMPUTE_DRIVER);
    routes = system.app('provisioner').get(ROUTE_PUBLISHERS);
  });

  afterAll(async () => {
    for (const instance of await compute.listManaged())
      await compute.terminate(instance.instanceId);
    await system.close();
    await cloudflare.close();
  });

  const api = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: object) => {
    const response = await system.app('api').inject({
      method,
      url,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      ...(body ? { payload: body } : {}),
    });
    responses.push(response.body);
    return response;
  };
  const orgRow = (slug: string) =>
    system.db.dataSource.getRepository(Org).findOneByOrFail({ slug });
  const waitForStatus = async (slug: string, status: string, timeoutMs = 30_000) => {
    try {
      await eventually(
        `${slug} to be ${status}`,
        async () => ((await orgRow(slug)).status === status ? true : undefined),
        timeoutMs,
      );
    } catch (error) {
      // Say why: the org's operations, with their steps and errors.
      const org = await orgRow(slug);
      const ops = await system.db.dataSource
        .getRepository(Operation)
        .findBy({ resourceId: org.id });
      throw new Error(
        `${(error as Error).message}; org is ${org.status}; operations: ${JSON.stringify(ops)}`,
        { cause: error },
      );
    }
  };
  const tenantToken = async (orgId: string) => {
    const host = await system.db.dataSource
      .getRepository(TenantInstance)
      .findOneByOrFail({ orgId });
    return system
      .app('provisioner')
      .get(EnvelopeCipher)
      .decryptString(orgId, host.adminTokenCiphertext!);
  };

  let first: { id: string; token: string; instanceId: string; address: string; port: number };

  it('provisions an org to running, with every step timed', async () => {
    const started = Date.now();
    const created = await api('POST', '/v1/orgs', { slug: 'lifecycle', name: 'Lifecycle Inc' });
    expect(created.statusCode).toBe(202);
    await waitForStatus('lifecycle', 'running');
    const elapsed = Date.now() - started;

    const progress = (await api('GET', '/v1/orgs/lifecycle/provisioning')).json<{
      status: string;
      percent: number;
      etaSeconds: number;
      steps: { name: string; state: string; durationMs: number }[];
    }>();
    expect(progress).toMatchObject({ status: 'succeeded', percent: 100, etaSeconds: 0 });
    for (const step of progress.steps) {
      expect(step.state).toBe('done');
      expect(step.durationMs).toBeGreaterThanOrEqual(0);
    }

    const org = await orgRow('lifecycle');
    const host = await system.db.dataSource
      .getRepository(TenantInstance)
      .findOneByOrFail({ orgId: org.id });
    expect(host).toMatchObject({ status: 'running', provider: 'local' });
    expect(host.adminTokenCiphertext).toMatch(/^v1\./);
    first = {
      id: org.id,
      token: await tenantToken(org.id),
      instanceId: host.providerInstanceId!,
      address: host.privateAddress!,
      port: host.port!,
    };
    // The org's live events: each step as it started and ended, then the finished operation,
    // with ids and statuses only (never the tenant credential).
    const events = await eventually('the finished operation in the org events', async () => {
      const redis = system.app('api').get<Redis>(REDIS);
      const all = decodeEntries(
        await redis.xrange(orgEventsKey(system.redisPrefix, org.id), '-', '+'),
      ).map((r) => r.event);
      return all.some((e) => e.type === 'provisioning.progress' && e.data.status === 'succeeded')
        ? all
        : undefined;
    });
    expect(
      events
        .filter((e) => e.type === 'provisioning.step' && e.data.state === 'done')
        .map((e) => e.data.step),
    ).toEqual([...ORG_PROVISION_STEPS]);
    expect(events.filter((e) => e.type === 'provisioning.progress').pop()?.data).toMatchObject({
      kind: 'org.provision',
      resourceId: org.id,
      status: 'succeeded',
      percent: 100,
    });
    expect(JSON.stringify(events)).not.toContain(first.token);

    // The host answers directly: health for anyone, everything else only with its credential.
    const base = `http://${first.address}:${first.port}`;
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect(
      (await fetch(`${base}/`, { headers: { authorization: `Bearer ${first.token}` } })).status,
    ).toBe(200);

    const route = await routes.get('lifecycle');
    expect(route).toMatchObject({
      orgId: org.id,
      status: 'running',
      port: first.port,
      generation: 1,
    });
    expect(route?.credential).toBe(host.adminTokenCiphertext);
    expect(JSON.parse(cloudflare.value('route:lifecycle') ?? '{}')).toMatchObject({
      orgId: org.id,
      generation: 1,
    });
    // Logged for the closing note: local provisioning time in this test (ts-node agent).
    expect(elapsed).toBeLessThan(30_000);
  });

  it('estimates the next provisioning from the durations of the last one', async () => {
    await api('POST', '/v1/orgs', { slug: 'second', name: 'Second' });
    const view = (await api('GET', '/v1/orgs/second/provisioning')).json<{
      etaSeconds: number | null;
    }>();
    expect(view.etaSeconds).not.toBeNull();
    await waitForStatus('second', 'running');
  });

  it('terminates an orphaned instance after the grace period and audits it', async () => {
    const orphan = await compute.launch({
      operationId: '00000000-0000-4000-8000-000000000001',
      tier: 'standard',
      tags: {
        'molecule:managed': 'true',
        'molecule:org': '00000000-0000-4000-8000-0000000000aa',
        'molecule:resource-type': 'org',
        'molecule:resource': '00000000-0000-4000-8000-0000000000aa',
        'molecule:operation': '00000000-0000-4000-8000-000000000001',
      },
      boot: {
        role: 'tenant',
        launchId: 'orphan',
        config: { orgSlug: 'ghost', orgName: 'Ghost', orgId: 'ghost' },
        secrets: { TENANT_ADMIN_TOKEN: 'orphan-token-orphan-token-orphan-token' },
        port: 8080,
        healthPath: '/health',
        image: 'unused',
      },
    });
    const sweeper = system.app('provisioner').get(OrphanSweeper);
    const config = system.configs.get('provisioner')!;
    const dryRun = new OrphanSweeper(
      system.db.dataSource,
      compute,
      { ...config, reconcile: { ...config.reconcile, orphanDryRun: true } },
      system.app('provisioner').get(AuditService),
      { warn: () => undefined } as never,
    );
    const report = await dryRun.sweep();
    expect(report.orphans.map((o) => o.instanceId)).toEqual([orphan.instanceId]);
    expect(report.terminated).toEqual([]);
    expect((await compute.describe(orphan.instanceId))?.state).toBe('running');

    const real = await sweeper.sweep();
    // Live orgs' hosts are never touched.
    expect(real.terminated).toEqual([orphan.instanceId]);
    expect((await compute.describe(first.instanceId))?.state).toBe('running');
    expect(['terminated', undefined]).toContain((await compute.describe(orphan.instanceId))?.state);
    const audited = await system.db.dataSource
      .getRepository(AuditEvent)
      .findOneBy({ action: 'instance.orphan.terminated', target: `instance:${orphan.instanceId}` });
    expect(audited).not.toBeNull();
  });

  it('deletes with a receipt: host gone, route removed, credentials and data key purged, audit kept', async () => {
    // A crash in the middle of the cascade: the first attempt fails at terminate-hosts.
    const terminate = jest
      .spyOn(compute, 'terminate')
      .mockRejectedValueOnce(new Error('simulated crash'));
    const accepted = await api('DELETE', '/v1/orgs/lifecycle', { confirm: 'lifecycle' });
    expect(accepted.statusCode).toBe(202);
    await waitForStatus('lifecycle', 'deleted', 60_000);
    terminate.mockRestore();

    // The org is marked deleted by the last step; the operation finishes just after it.
    const operation = await eventually('the delete operation to succeed', async () => {
      const row = await system.db.dataSource
        .getRepository(Operation)
        .findOneByOrFail({ resourceId: first.id, kind: 'org.delete' });
      return row.status === 'succeeded' ? row : undefined;
    });
    expect(operation.status).toBe('succeeded');
    expect(operation.attempts).toBe(2);

    // The host process is gone and its port no longer answers.
    expect(['terminated', undefined]).toContain((await compute.describe(first.instanceId))?.state);
    await expect(fetch(`http://${first.address}:${first.port}/health`)).rejects.toThrow();
    expect(await routes.get('lifecycle')).toBeUndefined();
    expect(cloudflare.value('route:lifecycle')).toBeUndefined();
    const ds = system.db.dataSource;
    expect(await ds.getRepository(ApiKey).countBy({ orgId: first.id })).toBe(0);
    expect(await ds.getRepository(OrgDataKey).countBy({ orgId: first.id })).toBe(0);
    expect(
      (await ds.getRepository(TenantInstance).findOneByOrFail({ orgId: first.id }))
        .adminTokenCiphertext,
    ).toBeNull();

    const verification = await system.app('api').get(AuditService).verify(first.id);
    expect(verification.valid).toBe(true);
    const receipt = (await api('GET', '/v1/orgs/lifecycle/deletion')).json<{
      receipt: { removed: Record<string, Record<string, unknown>> };
    }>();
    expect(receipt.receipt.removed).toMatchObject({
      'remove-routes': { routes: 1 },
      'terminate-hosts': { instances: 1, instanceIds: [first.instanceId] },
      'revoke-credentials': { apiKeys: 1 },
      'destroy-data-key': { dataKeys: 1 },
    });
    const again = await api('DELETE', '/v1/orgs/lifecycle', { confirm: 'lifecycle' });
    expect(again.statusCode).toBe(202);
    expect(again.json<{ operation: { id: string } }>().operation.id).toBe(operation.id);
  });

  it('never shows the tenant credential in a response, a log line, a job payload or bull-board', async () => {
    const queues = await system.app('api').inject({
      method: 'GET',
      url: '/admin/queues/api/queues?activeQueue=provisioning&status=completed',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    expect(queues.statusCode).toBe(200);
    const queue = system.app('api').get<Queue>(getQueueToken(QueueName.Provisioning));
    const jobs = await queue.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed']);
    const secondToken = await tenantToken((await orgRow('second')).id);
    const haystacks = [
      ...responses,
      queues.body,
      JSON.stringify(
        jobs.map((job) => ({
          data: job.data as unknown,
          returnvalue: job.returnvalue as unknown,
          failed: job.failedReason,
        })),
      ),
      system.logs.text,
    ];
    expect(jobs.length).toBeGreaterThan(0);
    for (const token of [first.token, secondToken]) {
      for (const text of haystacks) expect(text).not.toContain(token);
    }
  });
});
