import { In, type DataSource, type EntityManager, type Repository } from 'typeorm';
import { Operation, type OperationStep } from '../entities';
import { OperationStatus, UNFINISHED_OPERATION_STATUSES, type ResourceType } from '../enums';

export interface NewOperation {
  resourceType: ResourceType;
  resourceId: string;
  orgId: string | null;
  kind: string;
  idempotencyKey: string;
}

/** Thrown when a resource already has an unfinished operation (the partial unique index). */
export class OperationInProgressError extends Error {
  constructor(readonly resourceId: string) {
    super('Another operation on this resource has not finished yet');
    this.name = 'OperationInProgressError';
  }
}

/**
 * Operation rows and their step timings. A step that already ended in an earlier attempt is not
 * run again: that is what makes a retried or resumed operation pick up where it stopped.
 */
export class OperationsRepository {
  private readonly operations: Repository<Operation>;

  constructor(dataSource: DataSource) {
    this.operations = dataSource.getRepository(Operation);
  }

  async create(manager: EntityManager, fields: NewOperation): Promise<Operation> {
    try {
      return await manager.save(Operation, {
        ...fields,
        status: OperationStatus.Queued,
        steps: [],
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505')
        throw new OperationInProgressError(fields.resourceId);
      throw error;
    }
  }

  find(id: string): Promise<Operation | null> {
    return this.operations.findOneBy({ id });
  }

  /** The newest operation of `kind` on a resource. */
  latest(resourceId: string, kind: string): Promise<Operation | null> {
    return this.operations.findOne({ where: { resourceId, kind }, order: { createdAt: 'DESC' } });
  }

  /** Marks an attempt started; false when the operation already finished. */
  async begin(id: string): Promise<boolean> {
    const result = await this.operations
      .createQueryBuilder()
      .update()
      .set({ status: OperationStatus.Running, attempts: () => 'attempts + 1', error: null })
      .where({ id, status: In(UNFINISHED_OPERATION_STATUSES) })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  async startStep(id: string, name: string): Promise<void> {
    await this.mutateSteps(id, (steps) => [
      ...steps.filter((s) => s.name !== name),
      { name, startedAt: new Date().toISOString() },
    ]);
  }

  async endStep(
    id: string,
    name: string,
    outcome: { result?: Record<string, unknown>; error?: string },
  ): Promise<void> {
    await this.mutateSteps(id, (steps) =>
      steps.map((s) =>
        s.name === name ? { ...s, endedAt: new Date().toISOString(), ...outcome } : s,
      ),
    );
  }

  /** False when the operation had already finished (e.g. superseded). */
  succeed(id: string): Promise<boolean> {
    return this.finish(id, OperationStatus.Succeeded, null);
  }

  /** False when the operation had already finished (e.g. superseded). */
  fail(id: string, error: string): Promise<boolean> {
    return this.finish(id, OperationStatus.Failed, error);
  }

  /**
   * Ends the running step `lastStep` and the operation in the caller's transaction, so the
   * resource's final state and "operation succeeded" are seen together, never one without the
   * other.
   */
  async succeedWithin(manager: EntityManager, id: string, lastStep: string): Promise<void> {
    const operation = await manager.findOneByOrFail(Operation, { id });
    const now = new Date();
    operation.steps = operation.steps.map((s) =>
      s.name === lastStep && !s.endedAt ? { ...s, endedAt: now.toISOString() } : s,
    );
    operation.status = OperationStatus.Succeeded;
    operation.finishedAt = now;
    await manager.save(operation);
  }

  /** Records an attempt's error while the operation stays unfinished (it will be retried). */
  async noteError(id: string, error: string): Promise<void> {
    await this.operations.update({ id }, { error });
  }

  /** Unfinished operations with no progress since `before`. */
  stale(before: Date): Promise<Operation[]> {
    return this.operations
      .createQueryBuilder('o')
      .where('o.status IN (:...statuses)', { statuses: UNFINISHED_OPERATION_STATUSES })
      .andWhere('o.updated_at < :before', { before })
      .getMany();
  }

  private async finish(
    id: string,
    status: OperationStatus,
    error: string | null,
  ): Promise<boolean> {
    const result = await this.operations.update(
      { id, status: In(UNFINISHED_OPERATION_STATUSES) },
      { status, error, finishedAt: new Date() },
    );
    return (result.affected ?? 0) > 0;
  }

  private async mutateSteps(
    id: string,
    change: (steps: OperationStep[]) => OperationStep[],
  ): Promise<void> {
    // One job runs one operation at a time, so read-modify-write of its own row is safe.
    const operation = await this.operations.findOneByOrFail({ id });
    operation.steps = change(operation.steps);
    await this.operations.save(operation);
  }
}
