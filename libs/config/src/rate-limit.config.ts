import { z } from 'zod';

/**
 * Request rate limits (SPEC §5.9) and how the services find the client's address behind proxies.
 * Kept apart from config.ts so these variables live in one place; config.ts merges the schema
 * and maps it with `rateLimitConfig`.
 */

const perWindow = (fallback: number) =>
  z.coerce.number().int().min(1).max(1_000_000).default(fallback);

export const RATE_LIMIT_ENV = {
  /** Length of one counting window, in seconds. */
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3_600).default(60),
  /** Requests per window and client over all routes without a stricter policy. */
  RATE_LIMIT_DEFAULT: perWindow(600),
  /** Requests per window, client and route on routes that take or mint credentials. */
  RATE_LIMIT_AUTH: perWindow(30),
  /** Requests per window, client address and route on unauthenticated (`@Public()`) routes. */
  RATE_LIMIT_PUBLIC: perWindow(120),
  /** How long a counter update may take before the request is let through uncounted. */
  RATE_LIMIT_REDIS_TIMEOUT_MS: z.coerce.number().int().min(10).max(10_000).default(500),
  /**
   * `false`, or how many proxies (load balancers) stand in front of the service and append to
   * `X-Forwarded-For`. Only then is that header read, and only the entries those proxies wrote.
   */
  TRUST_PROXY: z
    .string()
    .refine(
      (value) => value === 'false' || /^([0-9]|10)$/.test(value),
      'must be false or the number of proxies in front of the service (0 to 10)',
    )
    .default('false'),
};

type RateLimitEnv = z.infer<z.ZodObject<typeof RATE_LIMIT_ENV>>;

export interface RateLimitConfig {
  readonly windowSeconds: number;
  /** Per client (principal, or address without one), shared by all default-policy routes. */
  readonly defaultLimit: number;
  /** Per client and route, on routes that take or mint credentials. */
  readonly authLimit: number;
  /** Per client address and route, on unauthenticated routes. */
  readonly publicLimit: number;
  readonly redisTimeoutMs: number;
  /** How many trusted proxies append to X-Forwarded-For; 0 ignores the header. */
  readonly trustProxyHops: number;
}

export function rateLimitConfig(e: RateLimitEnv): RateLimitConfig {
  return Object.freeze({
    windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
    defaultLimit: e.RATE_LIMIT_DEFAULT,
    authLimit: e.RATE_LIMIT_AUTH,
    publicLimit: e.RATE_LIMIT_PUBLIC,
    redisTimeoutMs: e.RATE_LIMIT_REDIS_TIMEOUT_MS,
    trustProxyHops: e.TRUST_PROXY === 'false' ? 0 : Number(e.TRUST_PROXY),
  });
}
