/**
 * Tuning of the edge router. Every value has a default that suits production; tests and the
 * benchmark pass their own through `createEdgeRouterService(options)`. None of these are read from
 * the environment yet: only libs/config reads it, and the variables are proposed, not added.
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
    /** How long a valid org API key is trusted without asking Postgres again. */
    positiveTtlMs?: number;
    /** How long an unknown key is remembered as unknown, so floods of one bad key stay cheap. */
    negativeTtlMs?: number;
    maxEntries?: number;
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
  [K in keyof EdgeRouterOptions]-?: EdgeRouterOptions[K] extends object | undefined
    ? Required<NonNullable<EdgeRouterOptions[K]>>
    : NonNullable<EdgeRouterOptions[K]>;
};

export const EDGE_ROUTER_OPTIONS = Symbol('EDGE_ROUTER_OPTIONS');

export function resolveEdgeRouterOptions(
  options: EdgeRouterOptions = {},
): ResolvedEdgeRouterOptions {
  return {
    routeCache: {
      positiveTtlMs: 60_000,
      negativeTtlMs: 5_000,
      maxEntries: 10_000,
      redisTimeoutMs: 500,
      ...options.routeCache,
    },
    visitorAuth: {
      positiveTtlMs: 15_000,
      negativeTtlMs: 2_000,
      maxEntries: 10_000,
      ...options.visitorAuth,
    },
    upstream: {
      connectionsPerHost: 128,
      connectTimeoutMs: 5_000,
      headersTimeoutMs: 30_000,
      bodyIdleTimeoutMs: 300_000,
      keepAliveTimeoutMs: 30_000,
      ...options.upstream,
    },
    limits: {
      maxRequestBodyBytes: 10 * 1024 * 1024,
      maxResponseBodyBytes: 100 * 1024 * 1024,
      requestHeadersTimeoutMs: 15_000,
      requestTimeoutMs: 60_000,
      ...options.limits,
    },
    retryAfterSeconds: options.retryAfterSeconds ?? 5,
    shutdownGraceMs: options.shutdownGraceMs ?? 10_000,
    trustForwardedHeaders: options.trustForwardedHeaders ?? false,
  };
}
