import type { AppConfig } from '@molecule/config';

/**
 * Tuning of the edge router. Every value comes from an `EDGE_*` variable (libs/config, where the
 * defaults and their bounds live; docs/operations.md lists them); tests and the benchmark can
 * override single values through `createEdgeRouterService(options)`.
 */
export interface EdgeRouterOptions {
  routeCache?: {
    /** How long a found route is used without asking Redis again (invalidations come earlier). */
    positiveTtlMs?: number;
    /** How long "no such slug" is remembered; short, so a new org is reachable within seconds. */
    negativeTtlMs?: number;
    /** Most slugs kept in memory; the least recently used are dropped first. */
    maxEntries?: number;
    /** Redis lookups that take longer than this fail (and a known entry is served stale). */
    redisTimeoutMs?: number;
  };
  visitorAuth?: {
    /**
     * How long a valid org API key is trusted without asking Postgres again; also how long a
     * session's key is known to be unrevoked.
     */
    positiveTtlMs?: number;
    /** How long an unknown key is remembered as unknown, so floods of one bad key stay cheap. */
    negativeTtlMs?: number;
    maxEntries?: number;
  };
  sessions?: {
    /** Lifetime of a visitor session (the cookie set after a sign-in ticket is exchanged). */
    ttlSeconds?: number;
  };
  upstream?: {
    /** Kept-alive connections per tenant host (like nginx's `keepalive`). */
    connectionsPerHost?: number;
    connectTimeoutMs?: number;
    /** Time until the upstream has sent the response headers. */
    headersTimeoutMs?: number;
    /** Longest silence between two body chunks; SSE streams must send something more often. */
    bodyIdleTimeoutMs?: number;
    /** How long an idle kept-alive upstream connection is kept. */
    keepAliveTimeoutMs?: number;
  };
  limits?: {
    /** Largest request body forwarded; bigger gets 413 (checked on the way, for chunked bodies). */
    maxRequestBodyBytes?: number;
    /**
     * Largest response body passed on; a bigger one is cut off. Not applied to event streams,
     * which are long-lived by design and bounded by the idle timeout instead. 0: no limit.
     */
    maxResponseBodyBytes?: number;
    /** Time the client has to send its request headers. */
    requestHeadersTimeoutMs?: number;
    /** Time the client has to send its whole request (headers and body). */
    requestTimeoutMs?: number;
  };
  /** Seconds announced in `Retry-After` on 502/503/504 pages. */
  retryAfterSeconds?: number;
  /** How long in-flight responses (SSE included) may finish on shutdown before being cut. */
  shutdownGraceMs?: number;
  /**
   * Keep the client's `X-Forwarded-For`/`-Proto` (appending the peer address) instead of
   * replacing them. Only for a deployment behind a load balancer that sets them itself.
   */
  trustForwardedHeaders?: boolean;
}

export type ResolvedEdgeRouterOptions = {
  readonly [K in keyof EdgeRouterOptions]-?: EdgeRouterOptions[K] extends object | undefined
    ? Readonly<Required<NonNullable<EdgeRouterOptions[K]>>>
    : NonNullable<EdgeRouterOptions[K]>;
};

export const EDGE_ROUTER_OPTIONS = Symbol('EDGE_ROUTER_OPTIONS');

/** The configured values (`config.edge`), with any overrides laid over them group by group. */
export function resolveEdgeRouterOptions(
  config: AppConfig['edge'],
  overrides: EdgeRouterOptions = {},
): ResolvedEdgeRouterOptions {
  return {
    routeCache: { ...config.routeCache, ...overrides.routeCache },
    visitorAuth: { ...config.visitorAuth, ...overrides.visitorAuth },
    sessions: { ttlSeconds: config.sessions.ttlSeconds, ...overrides.sessions },
    upstream: { ...config.upstream, ...overrides.upstream },
    limits: { ...config.limits, ...overrides.limits },
    retryAfterSeconds: overrides.retryAfterSeconds ?? config.retryAfterSeconds,
    shutdownGraceMs: overrides.shutdownGraceMs ?? config.shutdownGraceMs,
    trustForwardedHeaders: overrides.trustForwardedHeaders ?? config.trustForwardedHeaders,
  };
}
