import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { Redis } from 'ioredis';

/** Injection token of the service's shared ioredis client (commands, not subscriptions). */
export const REDIS = Symbol('REDIS');

/**
 * Keys of the app's own Redis state live under `<REDIS_PREFIX>:`; the prefix is applied by the
 * code that builds keys, never by ioredis `keyPrefix`, which BullMQ cannot work with.
 */
export function redisKey(config: AppConfig, ...parts: string[]): string {
  return [config.redis.prefix, ...parts].join(':');
}

/**
 * Closes a client politely (QUIT) but never waits on it for long: a Redis that accepts
 * connections and stops answering must not hang a shutdown.
 */
export async function closeRedis(client: Redis, timeoutMs = 1_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    await Promise.race([client.quit().catch(() => undefined), timedOut]);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new Redis(config.redis.url.reveal(), {
          connectionName: `molecule-${config.service}`,
          // Fail commands fast while Redis is down instead of queueing them without bound.
          maxRetriesPerRequest: 2,
        }),
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.redis);
  }
}
