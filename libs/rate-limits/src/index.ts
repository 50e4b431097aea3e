export { clientAddress, principalTracker } from './client-key';
export { RATE_LIMIT_POLICY, RateLimit, SkipRateLimit } from './rate-limit.decorators';
export type { RateLimitPolicy } from './rate-limit.decorators';
export { RateLimitGuard } from './rate-limit.guard';
export { RateLimitModule } from './rate-limit.module';
export { policyLimit, routePolicy } from './rate-limit.policy';
export { RateLimitStoreError, RedisThrottlerStorage } from './redis-throttler.storage';
