import type { OrgRole } from '@molecule/database';

/** Who is calling, established from credentials only — never from headers like X-Workspace-ID. */
export type Principal =
  | { kind: 'platform-admin' }
  | { kind: 'org-key'; keyId: string; orgId: string; role: OrgRole }
  | { kind: 'partner-key'; keyId: string; scopes: string[] }
  | { kind: 'workspace-token'; tokenId: string; workspaceId: string; orgId: string }
  /** An unspent bootstrap token: good for registering (and reporting a failed boot) only. */
  | { kind: 'workspace-bootstrap'; tokenId: string; workspaceId: string; orgId: string };

/** Strongest first; a role satisfies a requirement for itself or any weaker role. */
const ROLE_RANK: Record<OrgRole, number> = { owner: 4, admin: 3, member: 2, viewer: 1 };

export function roleSatisfies(held: OrgRole, required: OrgRole): boolean {
  return ROLE_RANK[held] >= ROLE_RANK[required];
}

/** How a principal appears in audit trails and `created_by` columns. */
export function actorOf(principal: Principal): string {
  switch (principal.kind) {
    case 'platform-admin':
      return 'platform-admin';
    case 'org-key':
      return `org-key:${principal.keyId}`;
    case 'partner-key':
      return `partner-key:${principal.keyId}`;
    case 'workspace-token':
    case 'workspace-bootstrap':
      return `workspace:${principal.workspaceId}`;
  }
}
