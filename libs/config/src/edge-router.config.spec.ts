import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config';

const valid = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/molecule',
  REDIS_URL: 'redis://127.0.0.1:6379',
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
};

function problemsOf(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig('edge-router', env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('edge router variables', () => {
  it('default to the documented values', () => {
    const { edge } = loadConfig('edge-router', valid);
    expect(edge).toEqual({
      publicUrl: 'http://localhost:8080',
      routeCache: {
        positiveTtlMs: 60_000,
        negativeTtlMs: 5_000,
        maxEntries: 10_000,
        redisTimeoutMs: 500,
      },
      visitorAuth: { positiveTtlMs: 15_000, negativeTtlMs: 2_000, maxEntries: 10_000 },
      sessions: { ttlSeconds: 43_200, ticketTtlSeconds: 60 },
      upstream: {
        connectionsPerHost: 128,
        connectTimeoutMs: 5_000,
        headersTimeoutMs: 30_000,
        bodyIdleTimeoutMs: 300_000,
        keepAliveTimeoutMs: 30_000,
      },
      limits: {
        maxRequestBodyBytes: 10 * 1024 * 1024,
        maxResponseBodyBytes: 100 * 1024 * 1024,
        requestHeadersTimeoutMs: 15_000,
        requestTimeoutMs: 60_000,
      },
      retryAfterSeconds: 5,
      shutdownGraceMs: 10_000,
      trustForwardedHeaders: false,
    });
  });

  it('map every variable to its option, in the option’s unit', () => {
    const { edge } = loadConfig('edge-router', {
      ...valid,
      BASE_DOMAIN: 'example.com',
      EDGE_PUBLIC_URL: 'https://example.com:8443',
      EDGE_ROUTE_CACHE_TTL_SECONDS: '30',
      EDGE_ROUTE_NEGATIVE_TTL_SECONDS: '0.5',
      EDGE_ROUTE_CACHE_MAX_ENTRIES: '500',
      EDGE_REDIS_TIMEOUT_MS: '250',
      EDGE_VISITOR_KEY_CACHE_TTL_SECONDS: '5',
      EDGE_VISITOR_KEY_NEGATIVE_TTL_SECONDS: '1',
      EDGE_VISITOR_KEY_CACHE_MAX_ENTRIES: '50',
      EDGE_SESSION_TTL_SECONDS: '3600',
      EDGE_SESSION_TICKET_TTL_SECONDS: '30',
      EDGE_UPSTREAM_CONNECTIONS: '16',
      EDGE_UPSTREAM_CONNECT_TIMEOUT_MS: '1000',
      EDGE_UPSTREAM_HEADERS_TIMEOUT_MS: '2000',
      EDGE_UPSTREAM_BODY_IDLE_TIMEOUT_MS: '3000',
      EDGE_UPSTREAM_KEEPALIVE_TIMEOUT_MS: '4000',
      EDGE_MAX_REQUEST_BODY_BYTES: '1024',
      EDGE_MAX_RESPONSE_BODY_BYTES: '0',
      EDGE_CLIENT_HEADERS_TIMEOUT_MS: '5000',
      EDGE_CLIENT_REQUEST_TIMEOUT_MS: '6000',
      EDGE_RETRY_AFTER_SECONDS: '30',
      EDGE_SHUTDOWN_GRACE_SECONDS: '2.5',
      EDGE_TRUST_FORWARDED_HEADERS: 'true',
    });
    expect(edge).toEqual({
      publicUrl: 'https://example.com:8443',
      routeCache: {
        positiveTtlMs: 30_000,
        negativeTtlMs: 500,
        maxEntries: 500,
        redisTimeoutMs: 250,
      },
      visitorAuth: { positiveTtlMs: 5_000, negativeTtlMs: 1_000, maxEntries: 50 },
      sessions: { ttlSeconds: 3_600, ticketTtlSeconds: 30 },
      upstream: {
        connectionsPerHost: 16,
        connectTimeoutMs: 1_000,
        headersTimeoutMs: 2_000,
        bodyIdleTimeoutMs: 3_000,
        keepAliveTimeoutMs: 4_000,
      },
      limits: {
        maxRequestBodyBytes: 1024,
        maxResponseBodyBytes: 0,
        requestHeadersTimeoutMs: 5_000,
        requestTimeoutMs: 6_000,
      },
      retryAfterSeconds: 30,
      shutdownGraceMs: 2_500,
      trustForwardedHeaders: true,
    });
  });

  it('default the public address to HTTPS on the base domain outside localhost', () => {
    expect(
      loadConfig('api', {
        ...valid,
        PLATFORM_ADMIN_TOKEN: 'x'.repeat(32),
        BASE_DOMAIN: 'example.com',
      }).edge.publicUrl,
    ).toBe('https://example.com');
    expect(loadConfig('edge-router', { ...valid, EDGE_ROUTER_PORT: '9090' }).edge.publicUrl).toBe(
      'http://localhost:9090',
    );
  });

  it('cap the negative route TTL at 5 s', () => {
    expect(problemsOf({ ...valid, EDGE_ROUTE_NEGATIVE_TTL_SECONDS: '6' })).toContain(
      'EDGE_ROUTE_NEGATIVE_TTL_SECONDS is out of range (maximum 5)',
    );
    expect(
      loadConfig('edge-router', { ...valid, EDGE_ROUTE_NEGATIVE_TTL_SECONDS: '5' }).edge.routeCache
        .negativeTtlMs,
    ).toBe(5_000);
  });

  it('cap sign-in tickets at 60 s', () => {
    expect(problemsOf({ ...valid, EDGE_SESSION_TICKET_TTL_SECONDS: '61' })).toContain(
      'EDGE_SESSION_TICKET_TTL_SECONDS is out of range (maximum 60)',
    );
  });

  it.each([
    ['EDGE_ROUTE_CACHE_TTL_SECONDS', 'soon', 'EDGE_ROUTE_CACHE_TTL_SECONDS must be a number'],
    ['EDGE_UPSTREAM_CONNECTIONS', '0', 'EDGE_UPSTREAM_CONNECTIONS is out of range (minimum 1)'],
    ['EDGE_UPSTREAM_CONNECTIONS', '1.5', 'EDGE_UPSTREAM_CONNECTIONS'],
    ['EDGE_REDIS_TIMEOUT_MS', '-1', 'EDGE_REDIS_TIMEOUT_MS is out of range (minimum 10)'],
    ['EDGE_SESSION_TTL_SECONDS', '10', 'EDGE_SESSION_TTL_SECONDS is out of range (minimum 60)'],
    [
      'EDGE_TRUST_FORWARDED_HEADERS',
      'yes',
      'EDGE_TRUST_FORWARDED_HEADERS must be one of: true, false',
    ],
    ['EDGE_PUBLIC_URL', 'example.com', 'EDGE_PUBLIC_URL must be an http:// or https:// origin'],
    [
      'EDGE_PUBLIC_URL',
      'https://localhost/app',
      'EDGE_PUBLIC_URL must be an http:// or https:// origin',
    ],
  ])('refuse %s=%s with a message naming it', (name, value, message) => {
    const text = problemsOf({ ...valid, [name]: value });
    expect(text).toContain(message);
    expect(text).not.toContain(`=${value}`);
  });

  it('require the public address to be on the base domain', () => {
    expect(
      problemsOf({ ...valid, BASE_DOMAIN: 'example.com', EDGE_PUBLIC_URL: 'https://example.org' }),
    ).toContain('EDGE_PUBLIC_URL must have BASE_DOMAIN as its host name');
  });

  it('refuse a header timeout longer than the request timeout', () => {
    expect(
      problemsOf({
        ...valid,
        EDGE_CLIENT_HEADERS_TIMEOUT_MS: '70000',
        EDGE_CLIENT_REQUEST_TIMEOUT_MS: '60000',
      }),
    ).toContain('EDGE_CLIENT_HEADERS_TIMEOUT_MS must not exceed EDGE_CLIENT_REQUEST_TIMEOUT_MS');
  });
});
