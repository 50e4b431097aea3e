import { z } from 'zod';

/**
 * The edge router's tunables (and the two values the api needs to send visitors to it). Kept
 * apart from config.ts so the edge router's variables live in one place; config.ts merges the
 * schema, checks `edgeRouterProblems` and maps them with `edgeRouterConfig`.
 */

const seconds = (fallback: number, min: number, max: number) =>
  z.coerce.number().min(min).max(max).default(fallback);
const milliseconds = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
const count = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const DAY = 86_400;
const HOUR_MS = 3_600_000;
const GIB = 1024 * 1024 * 1024;

export const EDGE_ROUTER_ENV = {
  /** Public address of the edge router for the base domain; tenants are `<slug>.` before its host. */
  EDGE_PUBLIC_URL: z
    .string()
    .refine((value) => {
      try {
        const url = new URL(value);
        return (
          ['http:', 'https:'].includes(url.protocol) &&
          url.pathname === '/' &&
          url.search === '' &&
          url.hash === '' &&
          url.username === '' &&
          url.password === ''
        );
      } catch {
        return false;
      }
    }, 'must be an http:// or https:// origin without path, such as https://example.com')
    .optional(),
  EDGE_ROUTE_CACHE_TTL_SECONDS: seconds(60, 0.1, DAY),
  // SPEC §4.8: a miss is remembered at most 5 s, so a new org is reachable within seconds.
  EDGE_ROUTE_NEGATIVE_TTL_SECONDS: seconds(5, 0, 5),
  EDGE_ROUTE_CACHE_MAX_ENTRIES: count(10_000, 1, 10_000_000),
  EDGE_REDIS_TIMEOUT_MS: milliseconds(500, 10, 60_000),
  EDGE_VISITOR_KEY_CACHE_TTL_SECONDS: seconds(15, 0, 3_600),
  EDGE_VISITOR_KEY_NEGATIVE_TTL_SECONDS: seconds(2, 0, 60),
  EDGE_VISITOR_KEY_CACHE_MAX_ENTRIES: count(10_000, 1, 10_000_000),
  EDGE_SESSION_TTL_SECONDS: count(43_200, 60, 30 * DAY),
  // One-time sign-in links must be short-lived: a minute at most.
  EDGE_SESSION_TICKET_TTL_SECONDS: count(60, 5, 60),
  EDGE_UPSTREAM_CONNECTIONS: count(128, 1, 65_536),
  EDGE_UPSTREAM_CONNECT_TIMEOUT_MS: milliseconds(5_000, 100, 10 * 60_000),
  EDGE_UPSTREAM_HEADERS_TIMEOUT_MS: milliseconds(30_000, 100, HOUR_MS),
  EDGE_UPSTREAM_BODY_IDLE_TIMEOUT_MS: milliseconds(300_000, 100, 24 * HOUR_MS),
  EDGE_UPSTREAM_KEEPALIVE_TIMEOUT_MS: milliseconds(30_000, 100, HOUR_MS),
  EDGE_MAX_REQUEST_BODY_BYTES: count(10 * 1024 * 1024, 1, 64 * GIB),
  EDGE_MAX_RESPONSE_BODY_BYTES: count(100 * 1024 * 1024, 0, 1024 * GIB),
  EDGE_CLIENT_HEADERS_TIMEOUT_MS: milliseconds(15_000, 100, HOUR_MS),
  EDGE_CLIENT_REQUEST_TIMEOUT_MS: milliseconds(60_000, 100, 24 * HOUR_MS),
  EDGE_RETRY_AFTER_SECONDS: count(5, 1, 3_600),
  EDGE_SHUTDOWN_GRACE_SECONDS: seconds(10, 0, 3_600),
  EDGE_TRUST_FORWARDED_HEADERS: z.enum(['true', 'false']).default('false'),
};

type EdgeEnv = z.infer<z.ZodObject<typeof EDGE_ROUTER_ENV>>;

export interface EdgeRouterConfig {
  /**
   * The edge router's public origin for the base domain (`https://example.com`); tenant `slug` is
   * reached at the same origin with `<slug>.` before the host (sign-in links the api hands out).
   */
  readonly publicUrl: string;
  readonly routeCache: {
    readonly positiveTtlMs: number;
    readonly negativeTtlMs: number;
    readonly maxEntries: number;
    readonly redisTimeoutMs: number;
  };
  readonly visitorAuth: {
    readonly positiveTtlMs: number;
    readonly negativeTtlMs: number;
    readonly maxEntries: number;
  };
  readonly sessions: { readonly ttlSeconds: number; readonly ticketTtlSeconds: number };
  readonly upstream: {
    readonly connectionsPerHost: number;
    readonly connectTimeoutMs: number;
    readonly headersTimeoutMs: number;
    readonly bodyIdleTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
  };
  readonly limits: {
    readonly maxRequestBodyBytes: number;
    readonly maxResponseBodyBytes: number;
    readonly requestHeadersTimeoutMs: number;
    readonly requestTimeoutMs: number;
  };
  readonly retryAfterSeconds: number;
  readonly shutdownGraceMs: number;
  readonly trustForwardedHeaders: boolean;
}

interface EdgeContext {
  BASE_DOMAIN: string;
  EDGE_ROUTER_PORT: number;
}

/** Checks that involve more than one variable; each message names the variables only. */
export function edgeRouterProblems(e: EdgeEnv & EdgeContext): string[] {
  const problems: string[] = [];
  if (e.EDGE_PUBLIC_URL !== undefined && new URL(e.EDGE_PUBLIC_URL).hostname !== e.BASE_DOMAIN) {
    problems.push('EDGE_PUBLIC_URL must have BASE_DOMAIN as its host name');
  }
  if (e.EDGE_CLIENT_HEADERS_TIMEOUT_MS > e.EDGE_CLIENT_REQUEST_TIMEOUT_MS) {
    problems.push('EDGE_CLIENT_HEADERS_TIMEOUT_MS must not exceed EDGE_CLIENT_REQUEST_TIMEOUT_MS');
  }
  return problems;
}

export function edgeRouterConfig(e: EdgeEnv & EdgeContext): EdgeRouterConfig {
  // Development default: the router on this machine; elsewhere, HTTPS on the default port.
  const publicUrl = new URL(
    e.EDGE_PUBLIC_URL ??
      (e.BASE_DOMAIN === 'localhost'
        ? `http://localhost:${e.EDGE_ROUTER_PORT}`
        : `https://${e.BASE_DOMAIN}`),
  );
  return Object.freeze({
    publicUrl: publicUrl.origin,
    routeCache: {
      positiveTtlMs: Math.round(e.EDGE_ROUTE_CACHE_TTL_SECONDS * 1000),
      negativeTtlMs: Math.round(e.EDGE_ROUTE_NEGATIVE_TTL_SECONDS * 1000),
      maxEntries: e.EDGE_ROUTE_CACHE_MAX_ENTRIES,
      redisTimeoutMs: e.EDGE_REDIS_TIMEOUT_MS,
    },
    visitorAuth: {
      positiveTtlMs: Math.round(e.EDGE_VISITOR_KEY_CACHE_TTL_SECONDS * 1000),
      negativeTtlMs: Math.round(e.EDGE_VISITOR_KEY_NEGATIVE_TTL_SECONDS * 1000),
      maxEntries: e.EDGE_VISITOR_KEY_CACHE_MAX_ENTRIES,
    },
    sessions: {
      ttlSeconds: e.EDGE_SESSION_TTL_SECONDS,
      ticketTtlSeconds: e.EDGE_SESSION_TICKET_TTL_SECONDS,
    },
    upstream: {
      connectionsPerHost: e.EDGE_UPSTREAM_CONNECTIONS,
      connectTimeoutMs: e.EDGE_UPSTREAM_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: e.EDGE_UPSTREAM_HEADERS_TIMEOUT_MS,
      bodyIdleTimeoutMs: e.EDGE_UPSTREAM_BODY_IDLE_TIMEOUT_MS,
      keepAliveTimeoutMs: e.EDGE_UPSTREAM_KEEPALIVE_TIMEOUT_MS,
    },
    limits: {
      maxRequestBodyBytes: e.EDGE_MAX_REQUEST_BODY_BYTES,
      maxResponseBodyBytes: e.EDGE_MAX_RESPONSE_BODY_BYTES,
      requestHeadersTimeoutMs: e.EDGE_CLIENT_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.EDGE_CLIENT_REQUEST_TIMEOUT_MS,
    },
    retryAfterSeconds: e.EDGE_RETRY_AFTER_SECONDS,
    shutdownGraceMs: Math.round(e.EDGE_SHUTDOWN_GRACE_SECONDS * 1000),
    trustForwardedHeaders: e.EDGE_TRUST_FORWARDED_HEADERS === 'true',
  });
}
