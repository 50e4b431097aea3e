/**
 * Who may talk to whom inside an org. The org chart (`workspaces.parent_id`) is the policy: a
 * workspace reaches itself, its siblings (same parent; the org's top-level workspaces are
 * siblings of one another), its parent and children, and any ancestor or descendant. Cousins,
 * uncles and nephews are denied, and so is everything across orgs. The same rule decides who
 * may call whom through the A2A proxy, who sees whose TEAM memories and who is listed as a peer.
 */

/** The part of a workspace the rule reads. */
export interface HierarchyNode {
  readonly id: string;
  readonly orgId: string;
  readonly parentId: string | null;
  /** Deleted workspaces stay in the chart so their children's chains still reach the root. */
  readonly deleted?: boolean;
}

export type Relation = 'self' | 'parent' | 'child' | 'sibling' | 'ancestor' | 'descendant';

/** Parent links longer than this are treated as broken (a cycle), and broken means denied. */
export const MAX_DEPTH = 32;

/**
 * The org's workspaces by id, enough to walk parent links. Built from one query of the org's
 * workspaces, so a whole peer list costs one round trip.
 */
export class OrgChart {
  private readonly byId: ReadonlyMap<string, HierarchyNode>;

  constructor(nodes: Iterable<HierarchyNode>) {
    this.byId = new Map(Array.from(nodes, (node) => [node.id, node]));
  }

  get(id: string): HierarchyNode | undefined {
    return this.byId.get(id);
  }

  nodes(): IterableIterator<HierarchyNode> {
    return this.byId.values();
  }

  /**
   * The ids above `id`, nearest first, or undefined when the chain is broken: a parent that is
   * not in the chart, a cycle, or deeper than {@link MAX_DEPTH}.
   */
  ancestors(id: string): string[] | undefined {
    const chain: string[] = [];
    let node = this.byId.get(id);
    if (!node) return undefined;
    while (node.parentId !== null) {
      if (chain.length >= MAX_DEPTH || chain.includes(node.parentId) || node.parentId === id) {
        return undefined;
      }
      chain.push(node.parentId);
      node = this.byId.get(node.parentId);
      if (!node) return undefined;
    }
    return chain;
  }

  /** Whether `callerId` may reach `targetId`. Unknown ids and broken chains are denied. */
  canCommunicate(callerId: string, targetId: string): boolean {
    const caller = this.byId.get(callerId);
    const target = this.byId.get(targetId);
    if (!caller || !target || caller.deleted || target.deleted) return false;
    if (caller.orgId !== target.orgId) return false;
    const callerAncestors = this.ancestors(callerId);
    const targetAncestors = this.ancestors(targetId);
    if (!callerAncestors || !targetAncestors) return false;
    return (
      callerId === targetId ||
      caller.parentId === target.parentId ||
      callerAncestors.includes(targetId) ||
      targetAncestors.includes(callerId)
    );
  }

  /** How `otherId` stands to `id`, for peer lists; undefined when `id` may not reach it. */
  relation(id: string, otherId: string): Relation | undefined {
    if (!this.canCommunicate(id, otherId)) return undefined;
    if (id === otherId) return 'self';
    const node = this.byId.get(id)!;
    const other = this.byId.get(otherId)!;
    if (node.parentId === otherId) return 'parent';
    if (other.parentId === id) return 'child';
    if (node.parentId === other.parentId) return 'sibling';
    return this.ancestors(id)!.includes(otherId) ? 'ancestor' : 'descendant';
  }

  /** Everyone `id` may reach, itself excluded. */
  reachableFrom(id: string): HierarchyNode[] {
    return Array.from(this.byId.values()).filter(
      (node) => node.id !== id && this.canCommunicate(id, node.id),
    );
  }

  /**
   * Whether making `parentId` the parent of `id` would put `id` above itself. A workspace cannot
   * be its own parent or the child of one of its descendants.
   */
  wouldCycle(id: string, parentId: string): boolean {
    if (id === parentId) return true;
    const above = this.ancestors(parentId);
    return above === undefined || above.includes(id);
  }
}
