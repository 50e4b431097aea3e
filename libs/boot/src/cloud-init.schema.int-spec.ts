import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BootSpec } from './boot-spec';
import { renderConfigFile, renderEnvFile } from './boot-files';
import { renderCloudConfig } from './cloud-init.renderer';

/**
 * SECURITY.md rule 7: user data is validated with cloud-init's own schema check, and read back
 * with the YAML parser cloud-init uses, so a quoting mistake in the hand-written YAML cannot
 * reach a host. Missing cloud-init is a failure, not a skip: a skipped check proves nothing.
 */

const INSTALL_HINT =
  'cloud-init is not installed, so user data cannot be validated: run ' +
  '`apt-get update && apt-get install -y cloud-init` (Debian/Ubuntu) and rerun the tests';

interface Run {
  code: number;
  output: string;
}

function run(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(new Error(INSTALL_HINT));
        return;
      }
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'molecule-cloud-init-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function schemaCheck(document: string): Promise<Run> {
  const file = join(dir, `${randomBytes(6).toString('hex')}.yaml`);
  await writeFile(file, document, { mode: 0o600 });
  return run('cloud-init', ['schema', '--config-file', file]);
}

/** The `write_files` of the document as PyYAML (cloud-init's parser) reads them. */
async function parsedWriteFiles(document: string): Promise<Record<string, unknown>[]> {
  const file = join(dir, `${randomBytes(6).toString('hex')}.yaml`);
  await writeFile(file, document, { mode: 0o600 });
  // The interpreter cloud-init runs on; python3-yaml is one of its dependencies.
  const result = await run('/usr/bin/python3', [
    '-c',
    'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))["write_files"]))',
    file,
  ]);
  expect(result.code).toBe(0);
  return JSON.parse(result.output) as Record<string, unknown>[];
}

function tenantSpec(overrides: Partial<BootSpec> = {}): BootSpec {
  return {
    role: 'tenant',
    launchId: '5d0f7c9e-1b2a-4c3d-8e9f-0a1b2c3d4e5f',
    config: {
      orgId: '3f2b8c1d-0000-4000-8000-000000000001',
      orgSlug: 'acme',
      orgName: 'Acme Rockets & Co',
      baseDomain: 'example.com',
      registryUrl: 'https://registry.example.com',
      tier: 'small',
    },
    secrets: { TENANT_ADMIN_TOKEN: `mol_ta_${randomBytes(32).toString('base64url')}` },
    port: 3000,
    healthPath: '/health',
    image: 'ghcr.io/example/molecule-tenant-host:1.4.2',
    ...overrides,
  };
}

describe('cloud-init schema', () => {
  it('accepts the user data of a tenant host', async () => {
    const result = await schemaCheck(renderCloudConfig(tenantSpec()));
    expect(result).toEqual({ code: 0, output: expect.stringContaining('Valid cloud-config') });
  });

  it('accepts the user data of a workspace without secrets', async () => {
    const result = await schemaCheck(
      renderCloudConfig(tenantSpec({ role: 'workspace', secrets: {} })),
    );
    expect(result).toEqual({ code: 0, output: expect.stringContaining('Valid cloud-config') });
  });

  it.each([
    ['installing its runtime', {}],
    ['on a pre-baked image', { prebaked: true }],
  ])('accepts the user data of a workspace %s, with its bootstrap token', async (_case, extra) => {
    const spec = tenantSpec({
      role: 'workspace',
      config: { workspaceId: 'w-1', registryUrl: 'https://registry.example.test' },
      secrets: { WORKSPACE_BOOTSTRAP_TOKEN: `mol_wb_${'a'.repeat(43)}` },
      install: [['docker', 'pull', 'molecule/claude-agent:latest']],
      ...extra,
    });
    const result = await schemaCheck(renderCloudConfig(spec));
    expect(result).toEqual({ code: 0, output: expect.stringContaining('Valid cloud-config') });
  });

  it('refuses a broken document, so the check above can fail', async () => {
    const result = await schemaCheck('#cloud-config\npackage_update: true\nwrite_files: 5\n');
    expect(result.code).not.toBe(0);
    expect(result.output).not.toContain('Valid cloud-config');
    // Refused for the planted fault, not for something unrelated such as a missing file.
    expect(result.output).toContain('write_files');
  });

  it('reads back every file exactly as rendered, whatever the secrets contain', async () => {
    const spec = tenantSpec({
      config: { orgSlug: 'zoe', orgName: 'Zoë “Q” \u2028 😀 <b>', quote: '"\'\\' },
      secrets: {
        TENANT_ADMIN_TOKEN: `mol_ta_${randomBytes(32).toString('base64url')}`,
        // YAML indicators, shell metacharacters, leading/trailing spaces, a tab, non-ASCII.
        TRICKY: ` - key: "v" 'w' # not a comment | > & * ! % @ \` $HOME \\n\tzoë 😀 `,
        EMPTY: '',
      },
    });
    const files = await parsedWriteFiles(renderCloudConfig(spec));
    expect(files.map((file) => [file.path, file.permissions, file.owner])).toEqual([
      ['/etc/molecule/config.yaml', '0644', 'root:root'],
      ['/etc/molecule/molecule.env', '0600', 'root:root'],
      ['/etc/systemd/system/molecule-tenant.service', '0644', 'root:root'],
    ]);
    expect(files[0].content).toBe(renderConfigFile(spec));
    expect(files[1].content).toBe(renderEnvFile(spec));
    expect(JSON.parse(files[0].content as string)).toMatchObject(spec.config);
  });
});
