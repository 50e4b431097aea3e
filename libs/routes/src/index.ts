export { ROUTE_PUBLISHERS } from './route-publisher';
export type { RouteEntry, RoutePublisher } from './route-publisher';
