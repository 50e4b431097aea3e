import type { EntityManager } from 'typeorm';
import { Org } from '../entities';
import type { OrgStatus } from '../enums';

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
