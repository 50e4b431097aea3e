export { ROUTE_PUBLISHERS } from './route-publisher';
export type { RouteEntry, RoutePublisher } from './route-publisher';
export { RouteEntryFormatError } from './route-entry.codec';
export {
  RedisRoutePublisher,
  RouteInvalidations,
  routeChannel,
  routeTableKey,
} from './redis/redis-route.publisher';
export type {
  RouteInvalidation,
  RouteInvalidationHandlers,
  RouteInvalidationSubscription,
} from './redis/redis-route.publisher';
export {
  CLOUDFLARE_API_BASE_URL,
  CloudflareKvError,
  CloudflareKvRoutePublisher,
  createCloudflareClient,
  routeKvKey,
} from './cloudflare/cloudflare-kv-route.publisher';
export type {
  CloudflareClientOptions,
  CloudflareKvRoutePublisherOptions,
} from './cloudflare/cloudflare-kv-route.publisher';
export { CompositeRoutePublisher, RoutePublishError } from './composite-route.publisher';
// Test support, exported so other libraries' and apps' tests can reuse them.
export { CloudflareApiDouble } from './cloudflare/cloudflare-api.double';
export type {
  CloudflareApiDoubleOptions,
  RecordedCloudflareRequest,
} from './cloudflare/cloudflare-api.double';
export { describeRoutePublisherContract, exampleRouteEntry } from './route-publisher.contract';
