import { describe, expect, it } from '@jest/globals';
import type { NetworkInterfaceInfo } from 'node:os';
import type { LoadedConfig } from './agent-settings';
import { advertisedHost, readRegistryUrl, readWorkspaceSettings } from './workspace-settings';

const WORKSPACE_ID = '0b6f7c1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const BOOTSTRAP = 'mol_wb_unit-test-bootstrap-token-0123456789abcdefgh';
const CONFIG = {
  role: 'workspace',
  workspaceId: WORKSPACE_ID,
  orgId: 'org-1',
  name: 'Echo',
  runtime: 'reference',
  registryUrl: 'http://127.0.0.1:3001/',
  port: 4100,
};
const NO_INTERFACES: NodeJS.Dict<NetworkInterfaceInfo[]> = {};

function loaded(config: Record<string, unknown>): LoadedConfig {
  return { path: '/var/lib/molecule/ws-1/config.yaml', config };
}

function problemsOf(env: Record<string, string>, config: Record<string, unknown>): string {
  try {
    readWorkspaceSettings(env, loaded(config), NO_INTERFACES);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the settings to be refused');
}

describe('readWorkspaceSettings', () => {
  it('reads the config and environment, with defaults for the optional keys', () => {
    const settings = readWorkspaceSettings(
      { WORKSPACE_BOOTSTRAP_TOKEN: BOOTSTRAP, PORT: '4100', HOST: '127.0.0.1' },
      loaded(CONFIG),
      NO_INTERFACES,
    );
    expect(settings).toEqual({
      role: 'workspace',
      host: '127.0.0.1',
      port: 4100,
      healthPath: '/health',
      workspaceId: WORKSPACE_ID,
      orgId: 'org-1',
      name: 'Echo',
      runtime: 'reference',
      registryUrl: 'http://127.0.0.1:3001',
      publicUrl: 'http://127.0.0.1:4100',
      stateDir: '/var/lib/molecule/ws-1',
      heartbeatIntervalSeconds: 15,
      registryTimeoutSeconds: 30,
      bootstrapToken: BOOTSTRAP,
    });
  });

  it('takes the optional keys when given; stateDir relative to the config file', () => {
    const settings = readWorkspaceSettings(
      { PORT: '4100' },
      loaded({
        ...CONFIG,
        healthPath: '/healthz',
        stateDir: 'state',
        publicUrl: 'https://ws-1.internal.example:8443/',
        heartbeatIntervalSeconds: 0.2,
        registryTimeoutSeconds: 5,
      }),
      NO_INTERFACES,
    );
    expect(settings).toMatchObject({
      healthPath: '/healthz',
      stateDir: '/var/lib/molecule/ws-1/state',
      publicUrl: 'https://ws-1.internal.example:8443',
      heartbeatIntervalSeconds: 0.2,
      registryTimeoutSeconds: 5,
      // Absent on a restart that relies on the stored session token.
      bootstrapToken: undefined,
    });
  });

  it('prefers PORT over the config port, and falls back to the config port', () => {
    const env = { PORT: '4200', HOST: '127.0.0.1' };
    expect(readWorkspaceSettings(env, loaded(CONFIG), NO_INTERFACES).port).toBe(4200);
    expect(readWorkspaceSettings({ HOST: '127.0.0.1' }, loaded(CONFIG), NO_INTERFACES).port).toBe(
      4100,
    );
  });

  it('advertises an external address, not the wildcard, when HOST is unset', () => {
    const interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = {
      lo: [
        {
          address: '127.0.0.1',
          family: 'IPv4',
          internal: true,
          netmask: '255.0.0.0',
          mac: '00:00:00:00:00:00',
          cidr: '127.0.0.1/8',
        },
      ],
      eth0: [
        {
          address: '10.0.3.17',
          family: 'IPv4',
          internal: false,
          netmask: '255.255.255.0',
          mac: '02:00:00:00:00:01',
          cidr: '10.0.3.17/24',
        },
      ],
    };
    const settings = readWorkspaceSettings({ PORT: '4100' }, loaded(CONFIG), interfaces);
    expect(settings.host).toBe('0.0.0.0');
    expect(settings.publicUrl).toBe('http://10.0.3.17:4100');
    expect(advertisedHost('0.0.0.0', NO_INTERFACES)).toBe('127.0.0.1');
    expect(advertisedHost('::1', NO_INTERFACES)).toBe('[::1]');
  });

  it('lists every problem at once, naming variables and keys but no value', () => {
    const badToken = 'short secret token';
    const message = problemsOf(
      { WORKSPACE_BOOTSTRAP_TOKEN: badToken, PORT: 'http' },
      {
        workspaceId: 'ws-1',
        registryUrl: 'ftp://registry',
        healthPath: 'health',
        heartbeatIntervalSeconds: 0,
        registryTimeoutSeconds: 'soon',
        stateDir: '',
      },
    );
    for (const name of [
      'WORKSPACE_BOOTSTRAP_TOKEN',
      'PORT',
      '"workspaceId"',
      '"orgId"',
      '"name"',
      '"runtime"',
      '"registryUrl"',
      '"healthPath"',
      '"heartbeatIntervalSeconds"',
      '"registryTimeoutSeconds"',
      '"stateDir"',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain(badToken);
  });

  it('refuses URLs with credentials, which would end up in logs and agent cards', () => {
    expect(
      problemsOf({ PORT: '1' }, { ...CONFIG, registryUrl: 'http://u:p@registry:3001' }),
    ).toMatch(/"registryUrl"/);
    expect(problemsOf({ PORT: '1' }, { ...CONFIG, publicUrl: 'http://agent?token=x' })).toMatch(
      /"publicUrl"/,
    );
  });

  it('needs a port from PORT or the config', () => {
    const { port: _port, ...withoutPort } = CONFIG;
    expect(problemsOf({}, withoutPort)).toMatch(/PORT is not set/);
    expect(problemsOf({}, { ...CONFIG, port: 70000 })).toMatch(/"port"/);
  });

  it('treats an empty bootstrap token as absent', () => {
    expect(
      readWorkspaceSettings({ WORKSPACE_BOOTSTRAP_TOKEN: '' }, loaded(CONFIG), NO_INTERFACES)
        .bootstrapToken,
    ).toBeUndefined();
  });
});

describe('readRegistryUrl', () => {
  it('reads a valid registry URL from an otherwise broken config, for the config boot report', () => {
    expect(readRegistryUrl(loaded({ registryUrl: 'http://registry:3001/' }))).toBe(
      'http://registry:3001',
    );
    expect(readRegistryUrl(loaded({ registryUrl: 42 }))).toBeUndefined();
  });
});
