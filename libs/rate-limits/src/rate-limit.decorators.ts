import { SetMetadata } from '@nestjs/common';

export const RATE_LIMIT_POLICY = 'molecule:rate-limit-policy';

/**
 * How a route is limited. Every route is limited by default; `@Public()` routes get `public`
 * unless they say otherwise; probes and the metrics scrape are always exempt.
 *
 * - `default`: `RATE_LIMIT_DEFAULT` per window and client, shared by all such routes.
 * - `auth`: `RATE_LIMIT_AUTH` per window, client and route: routes that take or mint credentials.
 * - `public`: `RATE_LIMIT_PUBLIC` per window, client address and route.
 * - `exempt`: never limited (hot paths that must not pay a Redis round trip).
 */
export type RateLimitPolicy = 'default' | 'auth' | 'public' | 'exempt';

/** Puts the route (or every route of the controller) under a stricter policy. */
export const RateLimit = (policy: Exclude<RateLimitPolicy, 'exempt'>) =>
  SetMetadata(RATE_LIMIT_POLICY, policy);

/** Never limits the route. Say why next to it: only hot paths with their own bounds qualify. */
export const SkipRateLimit = () =>
  SetMetadata(RATE_LIMIT_POLICY, 'exempt' satisfies RateLimitPolicy);
