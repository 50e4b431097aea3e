import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getQueueToken } from '@nestjs/bullmq';
import {
  AuditEvent,
  Operation,
  OperationsRepository,
  Org,
  ResourceType,
  Workspace,
} from '@molecule/database';
import { QueueName } from '@molecule/jobs';
import {
  createOrg,
  createWorkspace,
  eventually,
  startTestService,
  type TestService,
} from '@molecule/testing';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { provisionerService } from '../provisioner.service-definition';
import { OperationReaper } from './operation-reaper.service';

/** Operations that stopped making progress: enqueued again, or given up with their resource. */
describe('operation reaper', () => {
  let service: TestService;
  let reaper: OperationReaper;
  let queue: Queue;
  /** Far enough ahead that every operation written by the test counts as stuck. */
  const later = () => new Date(Date.now() + 3_600_000);

  beforeAll(async () => {
    service = await startTestService(provisionerService, { RECONCILE_INTERVAL_SECONDS: '3600' });
    reaper = service.app.get(OperationReaper);
    queue = service.app.get<Queue>(getQueueToken(QueueName.Provisioning));
  });

  afterAll(async () => {
    await service.close();
  });

  const operation = (fields: Partial<Operation> & Pick<Operation, 'kind' | 'resourceId'>) =>
    service.db.dataSource.manager.transaction((tx) =>
      new OperationsRepository(service.db.dataSource).create(tx, {
        resourceType: fields.kind.startsWith('org.') ? ResourceType.Org : ResourceType.Workspace,
        resourceId: fields.resourceId,
        orgId: fields.orgId ?? fields.resourceId,
        kind: fields.kind,
        idempotencyKey: randomUUID(),
      }),
    );

  it('enqueues an operation whose job never reached the queue, under the operation id', async () => {
    const org = await createOrg(service.db.dataSource);
    // Already deleted: the rerun of its teardown has nothing left to do and finishes at once.
    const ws = await createWorkspace(service.db.dataSource, org.id, { status: 'deleted' });
    const op = await operation({ kind: 'workspace.delete', resourceId: ws.id, orgId: org.id });
    expect(await queue.getJob(op.id)).toBeUndefined();

    const { requeued } = await reaper.reap(later());
    expect(requeued).toContain(op.id);
    await eventually('the requeued operation to finish', async () => {
      const row = await service.db.dataSource
        .getRepository(Operation)
        .findOneByOrFail({ id: op.id });
      return row.status === 'succeeded' ? row : undefined;
    });
  });

  it('gives up on an operation that keeps making no progress, and fails what it was creating', async () => {
    const org = await createOrg(service.db.dataSource, { status: 'provisioning' });
    const op = await operation({ kind: 'org.provision', resourceId: org.id });
    const ws = await createWorkspace(service.db.dataSource, org.id, { status: 'booting' });
    const wsOp = await operation({ kind: 'workspace.provision', resourceId: ws.id, orgId: org.id });
    await service.db.dataSource
      .getRepository(Operation)
      .update([op.id, wsOp.id], { attempts: 100, error: 'tenant host never answered' });

    const { failed } = await reaper.reap(later());
    expect(failed).toEqual(expect.arrayContaining([op.id, wsOp.id]));

    const rows = service.db.dataSource;
    expect(await rows.getRepository(Operation).findOneByOrFail({ id: op.id })).toMatchObject({
      status: 'failed',
      error: 'tenant host never answered',
    });
    // Neither is left provisioning forever: the org is failed (and retryable), so is the workspace.
    expect((await rows.getRepository(Org).findOneByOrFail({ id: org.id })).status).toBe('failed');
    expect(await rows.getRepository(Workspace).findOneByOrFail({ id: ws.id })).toMatchObject({
      status: 'failed',
      lastError: 'tenant host never answered',
    });
    const audit = await rows
      .getRepository(AuditEvent)
      .findBy({ chain: org.id, action: 'org.provision.failed' });
    expect(audit.map((e) => e.data)).toEqual([
      { operationId: op.id, reason: 'tenant host never answered' },
    ]);
    // Given up once: the next pass does not touch them again.
    expect((await reaper.reap(later())).failed).not.toContain(op.id);
  });
});
