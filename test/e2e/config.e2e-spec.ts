import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { build, REPO } from './helpers';

const valid: Record<string, string> = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/never-used',
  REDIS_URL: 'redis://127.0.0.1:6379',
  MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
  PLATFORM_ADMIN_TOKEN: 'an-admin-token-that-is-long-enough-0123',
};

/** Starts a compiled service the way production does, with exactly `env`. */
function startService(service: string, env: Record<string, string>) {
  return spawnSync(
    process.execPath,
    ['-r', './scripts/paths.cjs', join('dist', 'apps', service, 'src', 'main.js')],
    { cwd: REPO, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 },
  );
}

describe('a service started with bad configuration', () => {
  beforeAll(() => build());

  it.each(['api', 'registry', 'provisioner', 'edge-router'])(
    '%s exits non-zero naming a missing variable',
    (service) => {
      const { DATABASE_URL: _missing, ...env } = valid;
      const result = startService(service, env);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('DATABASE_URL is required');
    },
  );

  it('names malformed variables without printing their values', () => {
    const secretish = 'c3VwZXItc2VjcmV0LWJ1dC10b28tc2hvcnQ=';
    const result = startService('api', {
      ...valid,
      MASTER_KEY: secretish,
      REDIS_URL: 'http://user:hunter2@cache.internal:6379',
      API_PORT: 'eighty',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('MASTER_KEY');
    expect(result.stderr).toContain('REDIS_URL');
    expect(result.stderr).toContain('API_PORT');
    const printed = result.stdout + result.stderr;
    for (const value of [secretish, 'hunter2', 'cache.internal', 'eighty'])
      expect(printed).not.toContain(value);
  });

  it('requires the platform admin token only where it is used', () => {
    const { PLATFORM_ADMIN_TOKEN: _missing, ...env } = valid;
    expect(startService('api', env).stderr).toContain('PLATFORM_ADMIN_TOKEN is required');
  });
});
