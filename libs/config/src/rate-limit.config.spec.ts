import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config';

const valid = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/molecule',
  REDIS_URL: 'redis://127.0.0.1:6379',
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  PLATFORM_ADMIN_TOKEN: 'a-very-long-admin-token-of-at-least-32-chars',
};

function problemsOf(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig('api', env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('rate limit settings', () => {
  it('default to the documented values, with X-Forwarded-For not trusted', () => {
    expect(loadConfig('api', valid).rateLimit).toEqual({
      windowSeconds: 60,
      defaultLimit: 600,
      authLimit: 30,
      publicLimit: 120,
      redisTimeoutMs: 500,
      trustProxyHops: 0,
    });
  });

  it('map every variable', () => {
    const config = loadConfig('registry', {
      ...valid,
      RATE_LIMIT_WINDOW_SECONDS: '10',
      RATE_LIMIT_DEFAULT: '100',
      RATE_LIMIT_AUTH: '5',
      RATE_LIMIT_PUBLIC: '20',
      RATE_LIMIT_REDIS_TIMEOUT_MS: '250',
      TRUST_PROXY: '2',
    });
    expect(config.rateLimit).toEqual({
      windowSeconds: 10,
      defaultLimit: 100,
      authLimit: 5,
      publicLimit: 20,
      redisTimeoutMs: 250,
      trustProxyHops: 2,
    });
  });

  it('name bad values without echoing them', () => {
    const env = {
      ...valid,
      RATE_LIMIT_WINDOW_SECONDS: '0',
      RATE_LIMIT_DEFAULT: 'lots',
      RATE_LIMIT_AUTH: '2.5',
      RATE_LIMIT_PUBLIC: '-7',
      RATE_LIMIT_REDIS_TIMEOUT_MS: '99999',
    };
    const message = problemsOf(env);
    for (const name of [
      'RATE_LIMIT_WINDOW_SECONDS',
      'RATE_LIMIT_DEFAULT',
      'RATE_LIMIT_AUTH',
      'RATE_LIMIT_PUBLIC',
      'RATE_LIMIT_REDIS_TIMEOUT_MS',
    ]) {
      expect(message).toContain(name);
    }
    for (const value of ['lots', '2.5', '-7', '99999']) expect(message).not.toContain(value);
  });

  it('refuse TRUST_PROXY=true: it must say how many proxies append to X-Forwarded-For', () => {
    expect(problemsOf({ ...valid, TRUST_PROXY: 'true' })).toContain(
      'TRUST_PROXY must be false or the number of proxies in front of the service (0 to 10)',
    );
    expect(problemsOf({ ...valid, TRUST_PROXY: '11' })).toContain('TRUST_PROXY');
    expect(loadConfig('api', { ...valid, TRUST_PROXY: '0' }).rateLimit.trustProxyHops).toBe(0);
  });
});
