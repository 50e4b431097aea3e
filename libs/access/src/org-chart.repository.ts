import { Workspace, WorkspaceStatus } from '@molecule/database';
import type { DataSource, EntityManager } from 'typeorm';
import { OrgChart } from './hierarchy';

/** Loads an org's chart: all its workspaces with their parent links, deleted ones marked. */
export async function loadOrgChart(
  db: DataSource | EntityManager,
  orgId: string,
): Promise<OrgChart> {
  const manager = 'manager' in db ? db.manager : db;
  const rows = await manager.find(Workspace, {
    select: { id: true, orgId: true, parentId: true, status: true },
    where: { orgId },
  });
  return new OrgChart(
    rows.map(({ id, parentId, status }) => ({
      id,
      orgId,
      parentId,
      deleted: status === WorkspaceStatus.Deleted,
    })),
  );
}
