import type { EntityManager } from 'typeorm';
import { Org } from '../entities';
import { OrgStatus } from '../enums';

/** Thrown when a conditional transition found the row in another state. */
export class StaleStateError extends Error {
  constructor(entity: string, id: string, from: readonly string[]) {
    super(`${entity} ${id} is no longer ${from.join(' or ')}`);
    this.name = 'StaleStateError';
  }
}

/**
 * Moves an org from one of `from` to `to` with a conditional update, so concurrent actors race
 * cleanly: exactly one wins, the others get {@link StaleStateError}.
 */
export async function transitionOrg(
  manager: EntityManager,
  id: string,
  from: readonly OrgStatus[],
  to: OrgStatus,
  extra: Partial<Org> = {},
): Promise<void> {
  const result = await manager
    .createQueryBuilder()
    .update(Org)
    .set({ status: to, ...extra })
    .where('id = :id AND status IN (:...from)', { id, from })
    .execute();
  if ((result.affected ?? 0) === 0) throw new StaleStateError('org', id, from);
}

/** Refusal of a write into an org that is being deleted (the error envelope answers 409). */
export class OrgClosedError extends Error {
  readonly statusCode = 409;
  constructor() {
    super('The org is being deleted');
    this.name = 'OrgClosedError';
  }
}

/**
 * Takes a shared lock on the org row for the rest of the transaction and refuses an org that is
 * deleting or deleted, so nothing is written into an org after its deletion purged it.
 */
export async function lockOpenOrg(manager: EntityManager, orgId: string): Promise<void> {
  const org = await manager.findOne(Org, {
    select: { id: true, status: true },
    where: { id: orgId },
    lock: { mode: 'pessimistic_read' },
  });
  if (!org || org.status === OrgStatus.Deleting || org.status === OrgStatus.Deleted) {
    throw new OrgClosedError();
  }
}
