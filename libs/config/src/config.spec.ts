import { describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
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

describe('loadConfig', () => {
  it('parses a valid environment with documented defaults', () => {
    const config = loadConfig('api', valid);
    expect(config.ports).toEqual({
      api: 3000,
      registry: 3001,
      provisioner: 3002,
      edgeRouter: 8080,
    });
    expect(config.computeDriver).toBe('local');
    expect(config.routePublisher).toBe('redis');
    expect(config.masterKeys.current.reveal()).toHaveLength(32);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names a missing required variable', () => {
    const { MASTER_KEY: _omitted, ...env } = valid;
    expect(problemsOf(env)).toContain('MASTER_KEY is required');
  });

  it('treats an empty value as missing', () => {
    expect(problemsOf({ ...valid, PLATFORM_ADMIN_TOKEN: '' })).toContain(
      'PLATFORM_ADMIN_TOKEN is required',
    );
  });

  it('names malformed variables without echoing their values', () => {
    const env = {
      ...valid,
      MASTER_KEY: 'c2hvcnQta2V5LXZhbHVl',
      REDIS_URL: 'http://leaky-host-name:6379',
      COMPUTE_DRIVER: 'mainframe',
      API_PORT: '99999',
    };
    const message = problemsOf(env);
    expect(message).toContain('MASTER_KEY');
    expect(message).toContain('REDIS_URL');
    expect(message).toContain('COMPUTE_DRIVER');
    expect(message).toContain('API_PORT');
    for (const value of Object.values(env)) expect(message).not.toContain(value);
  });

  it('refuses the .env.example placeholder as the admin token', () => {
    const message = problemsOf({
      ...valid,
      PLATFORM_ADMIN_TOKEN: 'change-me-at-least-32-characters-long',
    });
    expect(message).toContain('PLATFORM_ADMIN_TOKEN must be replaced');
  });

  it('requires only what a service needs', () => {
    const { PLATFORM_ADMIN_TOKEN: _omitted, ...env } = valid;
    expect(() => loadConfig('registry', env)).not.toThrow();
  });

  it('never prints secrets', () => {
    const config = loadConfig('api', valid);
    const printed = [
      JSON.stringify(config),
      inspect(config, { depth: 10 }),
      String(config.platformAdminToken),
    ];
    for (const text of printed) {
      expect(text).not.toContain(valid.PLATFORM_ADMIN_TOKEN);
      expect(text).not.toContain(valid.MASTER_KEY);
      expect(text).not.toContain('127.0.0.1:5432');
    }
  });
});
