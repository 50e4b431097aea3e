import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { REDIS } from '@molecule/redis';
import {
  CloudflareKvRoutePublisher,
  CompositeRoutePublisher,
  createCloudflareClient,
  RedisRoutePublisher,
  ROUTE_PUBLISHERS,
  type RoutePublisher,
} from '@molecule/routes';
import type { Redis } from 'ioredis';

/**
 * Routes always go to the Redis table the edge router reads; with ROUTE_PUBLISHER=cloudflare
 * they are also written to Workers KV for the Cloudflare Worker.
 */
export function createRoutePublisher(config: AppConfig, redis: Redis): RoutePublisher {
  const primary = new RedisRoutePublisher(redis, config.redis.prefix);
  if (config.routePublisher === 'redis' || !config.cloudflare) return primary;
  const kv = new CloudflareKvRoutePublisher({
    client: createCloudflareClient({
      apiToken: config.cloudflare.apiToken.reveal(),
      baseUrl: config.cloudflare.baseUrl,
    }),
    accountId: config.cloudflare.accountId,
    namespaceId: config.cloudflare.kvNamespaceId,
  });
  return new CompositeRoutePublisher([primary, kv]);
}

@Module({
  providers: [
    { provide: ROUTE_PUBLISHERS, inject: [APP_CONFIG, REDIS], useFactory: createRoutePublisher },
  ],
  exports: [ROUTE_PUBLISHERS],
})
export class RoutesModule {}
