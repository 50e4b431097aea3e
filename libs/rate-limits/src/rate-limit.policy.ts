import type { AuthRequirement } from '@molecule/auth';
import type { AppConfig } from '@molecule/config';
import type { RateLimitPolicy } from './rate-limit.decorators';

/**
 * Liveness, readiness and the metrics scrape are polled by orchestrators and Prometheus from a
 * handful of addresses, and must answer while the service is under load. They live in
 * `@molecule/observability`, below this lib, so they are exempted by path instead of decorator.
 */
const OPS_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** The policy of a route: ops routes, then the route's own declaration, then `@Public()`. */
export function routePolicy(
  route: string | undefined,
  declared: RateLimitPolicy | undefined,
  auth: readonly AuthRequirement[],
): RateLimitPolicy {
  if (route !== undefined && OPS_ROUTES.has(route)) return 'exempt';
  if (declared !== undefined) return declared;
  return auth.some((requirement) => requirement.kind === 'public') ? 'public' : 'default';
}

/** Requests allowed per window under a policy (`exempt` is never counted). */
export function policyLimit(policy: RateLimitPolicy, limits: AppConfig['rateLimit']): number {
  switch (policy) {
    case 'auth':
      return limits.authLimit;
    case 'public':
      return limits.publicLimit;
    case 'default':
    case 'exempt':
      return limits.defaultLimit;
  }
}
