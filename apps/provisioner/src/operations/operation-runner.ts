import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type Operation, OperationsRepository, OperationStatus } from '@molecule/database';
import { OrgEvents } from '@molecule/events';
import { UnrecoverableError } from 'bullmq';
import { JobName, ORG_DELETE_STEPS, ORG_PROVISION_STEPS } from '@molecule/jobs';
import type { DataSource } from 'typeorm';

type StepResult = Record<string, unknown> | void;

/** The steps each kind of operation runs, in order, for the percent of its progress events. */
const STEPS_OF: Readonly<Record<string, readonly string[]>> = {
  [JobName.OrgProvision]: ORG_PROVISION_STEPS,
  [JobName.OrgDelete]: ORG_DELETE_STEPS,
  [JobName.WorkspaceProvision]: ['launch-instance', 'wait-online'],
  [JobName.WorkspaceRestart]: ['stop-instance', 'launch-instance', 'wait-online'],
  [JobName.WorkspaceDelete]: ['revoke-tokens', 'terminate-instance', 'purge', 'mark-deleted'],
};

/**
 * Runs the steps of an operation, recording each one's start, end, result or error, and
 * announcing every change as the org's `provisioning.step` / `provisioning.progress` events
 * (the API streams progress from them). A step that finished in an earlier
 * attempt is skipped and its recorded result returned, so a retried or resumed job continues
 * where the last one stopped.
 */
@Injectable()
export class OperationRunner {
  readonly operations: OperationsRepository;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly events: OrgEvents,
  ) {
    this.operations = new OperationsRepository(dataSource);
  }

  async step<T extends StepResult>(
    operationId: string,
    name: string,
    work: () => Promise<T>,
  ): Promise<T> {
    const operation = await this.operations.find(operationId);
    // Superseded (a delete or restart took over) or finished elsewhere: stop at this boundary.
    if (operation?.status !== OperationStatus.Running) {
      throw new UnrecoverableError(`operation ${operationId} is ${operation?.status ?? 'gone'}`);
    }
    const done = operation.steps.find((s) => s.name === name && s.endedAt && !s.error);
    if (done) return done.result as T;
    await this.operations.startStep(operationId, name);
    await this.publishStep(operation, name, 'running');
    await this.announce(operationId);
    let state: 'done' | 'failed' = 'failed';
    try {
      const result = await work();
      await this.operations.endStep(operationId, name, { result: result ?? undefined });
      state = 'done';
      return result;
    } catch (error) {
      await this.operations.endStep(operationId, name, { error: describe(error) });
      throw error;
    } finally {
      await this.publishStep(operation, name, state);
      await this.announce(operationId);
    }
  }

  /**
   * Tells the org's event stream, and through it every API replica, how far the operation got
   * (best effort: the API also polls). A notification: it cannot fail the operation.
   */
  async announce(operationId: string): Promise<void> {
    const operation = await this.operations.find(operationId).catch(() => null);
    if (!operation?.orgId) return;
    await this.events.publish(operation.orgId, 'provisioning.progress', {
      ...idsOf(operation),
      status: operation.status,
      percent: percentOf(operation),
    });
  }

  private async publishStep(operation: Operation, step: string, state: string): Promise<void> {
    if (!operation.orgId) return;
    await this.events.publish(operation.orgId, 'provisioning.step', {
      ...idsOf(operation),
      step,
      state,
    });
  }
}

function idsOf(operation: Operation) {
  return {
    operationId: operation.id,
    kind: operation.kind,
    resourceType: operation.resourceType,
    resourceId: operation.resourceId,
  };
}

/** Finished steps of the kind's list; 100 once the operation succeeded. */
export function percentOf(operation: Operation): number {
  if (operation.status === OperationStatus.Succeeded) return 100;
  const names = STEPS_OF[operation.kind];
  if (!names?.length) return 0;
  const done = new Set(
    operation.steps
      .filter((s) => s.endedAt && !s.error && names.includes(s.name))
      .map((s) => s.name),
  );
  return Math.floor((done.size / names.length) * 100);
}

/** An error message fit for an operation row: no stack, bounded length. */
export function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 500 ? `${message.slice(0, 497)}...` : message;
}
