import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { getStorageToken } from '@nestjs/throttler';
import { RateLimitGuard } from './rate-limit.guard';
import { RedisThrottlerStorage } from './redis-throttler.storage';

/**
 * Installs the global {@link RateLimitGuard}. Needs the config, the shared Redis client, the
 * logger and `MetricsService`. Import it after `AuthModule`: global guards run in the order
 * their modules are imported, and the limiter keys requests by the principal the auth guard
 * established.
 */
@Module({
  providers: [
    RedisThrottlerStorage,
    { provide: getStorageToken(), useExisting: RedisThrottlerStorage },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
})
export class RateLimitModule {}
