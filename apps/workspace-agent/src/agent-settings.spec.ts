import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, readTenantSettings, resolveRole } from './agent-settings';
import type { LoadedConfig } from './agent-settings';

const TOKEN = 'mol_ta_unit-test-token-0123456789abcdefghijkl';
const TENANT_CONFIG = { role: 'tenant', orgId: 'org-1', orgSlug: 'acme', orgName: 'Acme' };

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'molecule-agent-settings-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function loaded(config: Record<string, unknown>): LoadedConfig {
  return { path: '/etc/molecule/config.yaml', config };
}

describe('loadConfig', () => {
  it('reads the JSON object MOLECULE_CONFIG names', () => {
    const path = configFile('ok.json', JSON.stringify(TENANT_CONFIG));
    expect(loadConfig({ MOLECULE_CONFIG: path })).toEqual({ path, config: TENANT_CONFIG });
  });

  it.each([
    ['unset', undefined, /MOLECULE_CONFIG is not set/],
    ['a missing file', '/nonexistent/config.yaml', /MOLECULE_CONFIG: cannot read .* \(ENOENT\)/],
    ['not JSON', 'not-json', /not valid JSON/],
    ['not an object', 'array', /not a JSON object/],
  ])('refuses %s', (_what, value, message) => {
    const path =
      value === 'not-json'
        ? configFile('bad.json', 'orgSlug: acme\n')
        : value === 'array'
          ? configFile('array.json', '[]')
          : value;
    expect(() => loadConfig({ MOLECULE_CONFIG: path })).toThrow(message);
  });
});

describe('resolveRole', () => {
  it('takes MOLECULE_ROLE, or the config role, and refuses a contradiction', () => {
    expect(resolveRole({ MOLECULE_ROLE: 'tenant' }, loaded({}))).toBe('tenant');
    expect(resolveRole({}, loaded({ role: 'workspace' }))).toBe('workspace');
    expect(() => resolveRole({ MOLECULE_ROLE: 'tenant' }, loaded({ role: 'workspace' }))).toThrow(
      /contradicts/,
    );
    expect(() => resolveRole({}, loaded({}))).toThrow(/MOLECULE_ROLE is not set/);
    expect(() => resolveRole({ MOLECULE_ROLE: 'admin' }, loaded({}))).toThrow(/MOLECULE_ROLE must/);
  });
});

describe('readTenantSettings', () => {
  it('defaults HOST to every interface, for containers', () => {
    const settings = readTenantSettings(
      { TENANT_ADMIN_TOKEN: TOKEN, PORT: '3000' },
      loaded(TENANT_CONFIG),
    );
    expect(settings).toEqual({
      role: 'tenant',
      host: '0.0.0.0',
      port: 3000,
      healthPath: '/health',
      orgId: 'org-1',
      orgSlug: 'acme',
      orgName: 'Acme',
      adminToken: TOKEN,
    });
    expect(
      readTenantSettings(
        { TENANT_ADMIN_TOKEN: TOKEN, PORT: '3000', HOST: '127.0.0.1' },
        loaded(TENANT_CONFIG),
      ).host,
    ).toBe('127.0.0.1');
  });

  it('lists every problem at once, naming variables and keys but no value', () => {
    const badToken = 'short secret';
    let message = '';
    try {
      readTenantSettings(
        { TENANT_ADMIN_TOKEN: badToken, PORT: '99999' },
        loaded({ orgSlug: 'Not A Slug' }),
      );
    } catch (error) {
      message = (error as Error).message;
    }
    for (const name of ['TENANT_ADMIN_TOKEN', 'PORT', '"orgSlug"', '"orgName"', '"orgId"']) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain(badToken);
  });

  it('treats an empty variable as unset', () => {
    expect(() =>
      readTenantSettings({ TENANT_ADMIN_TOKEN: '', PORT: '3000' }, loaded(TENANT_CONFIG)),
    ).toThrow('TENANT_ADMIN_TOKEN is not set');
  });
});
