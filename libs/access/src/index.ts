export { MAX_DEPTH, OrgChart } from './hierarchy';
export type { HierarchyNode, Relation } from './hierarchy';
export { loadOrgChart } from './org-chart.repository';
