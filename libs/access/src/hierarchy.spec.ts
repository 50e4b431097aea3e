import { OrgChart, type HierarchyNode } from './hierarchy';

/**
 *            root            other-root        (org A)
 *          /      \
 *       lead-1   lead-2
 *       /    \       \
 *    dev-1  dev-2   dev-3
 *      |
 *    intern
 */
const ORG = 'org-a';
const node = (id: string, parentId: string | null, extra: Partial<HierarchyNode> = {}) => ({
  id,
  orgId: ORG,
  parentId,
  ...extra,
});
const chart = new OrgChart([
  node('root', null),
  node('other-root', null),
  node('lead-1', 'root'),
  node('lead-2', 'root'),
  node('dev-1', 'lead-1'),
  node('dev-2', 'lead-1'),
  node('dev-3', 'lead-2'),
  node('intern', 'dev-1'),
  { id: 'stranger', orgId: 'org-b', parentId: null },
]);

describe('OrgChart.canCommunicate', () => {
  it.each([
    ['self', 'dev-1', 'dev-1'],
    ['sibling', 'dev-1', 'dev-2'],
    ['parent', 'dev-1', 'lead-1'],
    ['child', 'lead-1', 'dev-1'],
    ['grandparent', 'dev-1', 'root'],
    ['grandchild', 'root', 'dev-1'],
    ['great-grandchild', 'root', 'intern'],
    ['top-level siblings', 'root', 'other-root'],
  ])('allows %s', (_relation, caller, target) => {
    expect(chart.canCommunicate(caller, target)).toBe(true);
  });

  it.each([
    ['cousin', 'dev-1', 'dev-3'],
    ['uncle', 'dev-1', 'lead-2'],
    ['nephew', 'lead-2', 'dev-1'],
    ['another top-level tree', 'other-root', 'dev-1'],
    ['another org', 'root', 'stranger'],
    ['another org, reversed', 'stranger', 'root'],
    ['an unknown caller', 'nobody', 'root'],
    ['an unknown target', 'root', 'nobody'],
  ])('denies %s', (_relation, caller, target) => {
    expect(chart.canCommunicate(caller, target)).toBe(false);
  });

  it('denies deleted workspaces but keeps their children connected through them', () => {
    const withDeleted = new OrgChart([
      node('root', null),
      node('lead', 'root', { deleted: true }),
      node('dev', 'lead'),
    ]);
    expect(withDeleted.canCommunicate('dev', 'lead')).toBe(false);
    expect(withDeleted.canCommunicate('lead', 'dev')).toBe(false);
    expect(withDeleted.canCommunicate('dev', 'root')).toBe(true);
  });

  it('denies everything on a broken chain: a cycle, a missing parent, too deep', () => {
    const cyclic = new OrgChart([node('a', 'b'), node('b', 'a')]);
    expect(cyclic.canCommunicate('a', 'b')).toBe(false);
    const orphan = new OrgChart([node('a', 'gone'), node('b', 'gone')]);
    expect(orphan.canCommunicate('a', 'b')).toBe(false);
    const deep = new OrgChart(
      Array.from({ length: 40 }, (_, i) => node(`n${i}`, i === 0 ? null : `n${i - 1}`)),
    );
    expect(deep.canCommunicate('n39', 'n38')).toBe(false);
    expect(deep.canCommunicate('n10', 'n9')).toBe(true);
  });
});

describe('OrgChart.reachableFrom', () => {
  it('lists exactly the workspaces the rule allows, without the caller', () => {
    const ids = (id: string) =>
      chart
        .reachableFrom(id)
        .map((n) => n.id)
        .sort();
    expect(ids('dev-1')).toEqual(['dev-2', 'intern', 'lead-1', 'root']);
    expect(ids('lead-2')).toEqual(['dev-3', 'lead-1', 'root']);
    expect(ids('stranger')).toEqual([]);
  });
});

describe('OrgChart.relation', () => {
  it('names how a reachable workspace stands to the caller', () => {
    expect(chart.relation('dev-1', 'dev-1')).toBe('self');
    expect(chart.relation('dev-1', 'lead-1')).toBe('parent');
    expect(chart.relation('lead-1', 'dev-1')).toBe('child');
    expect(chart.relation('dev-1', 'dev-2')).toBe('sibling');
    expect(chart.relation('root', 'other-root')).toBe('sibling');
    expect(chart.relation('intern', 'root')).toBe('ancestor');
    expect(chart.relation('root', 'intern')).toBe('descendant');
    expect(chart.relation('dev-1', 'dev-3')).toBeUndefined();
  });
});

describe('OrgChart.wouldCycle', () => {
  it('refuses self-parenting and parenting under a descendant', () => {
    expect(chart.wouldCycle('lead-1', 'lead-1')).toBe(true);
    expect(chart.wouldCycle('lead-1', 'intern')).toBe(true);
    expect(chart.wouldCycle('root', 'dev-3')).toBe(true);
  });

  it('allows moving under any workspace outside the subtree', () => {
    expect(chart.wouldCycle('dev-1', 'lead-2')).toBe(false);
    expect(chart.wouldCycle('lead-1', 'other-root')).toBe(false);
  });
});
