import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BootSpec } from './boot-spec';
import { renderLocalProcess, writeLocalFiles } from './local-process.renderer';

const TOKEN = 'mol_ta_local-test-token-0123456789abcdefghijklmnop';

function tenantSpec(): BootSpec {
  return {
    role: 'tenant',
    launchId: 'op-local-1',
    config: { orgId: 'org-1', orgSlug: 'acme', orgName: 'Acme' },
    secrets: { TENANT_ADMIN_TOKEN: TOKEN },
    port: 41234,
    healthPath: '/health',
    image: 'molecule/tenant-host:latest',
  };
}

const AGENT = { command: '/usr/bin/node', args: ['dist/apps/workspace-agent/src/main.js'] };

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'molecule-local-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('renderLocalProcess', () => {
  it('describes the same two files as the cloud-init renderer, inside the instance directory', () => {
    const dir = join(root, 'instance');
    const spec = renderLocalProcess(tenantSpec(), dir, AGENT);
    expect(spec.files.map(({ path, mode }) => ({ path, mode }))).toEqual([
      { path: join(dir, 'config.yaml'), mode: 0o644 },
      { path: join(dir, 'molecule.env'), mode: 0o600 },
    ]);
    expect(JSON.parse(spec.files[0].content)).toMatchObject({ orgSlug: 'acme', role: 'tenant' });
    expect(spec.files[0].content).not.toContain(TOKEN);
    expect(spec.files[1].content).toBe(`TENANT_ADMIN_TOKEN=${TOKEN}\n`);
  });

  it('gives the process the secrets and the paths of its files', () => {
    const dir = join(root, 'instance');
    const spec = renderLocalProcess(tenantSpec(), dir, AGENT);
    expect(spec.env).toEqual({
      TENANT_ADMIN_TOKEN: TOKEN,
      MOLECULE_ROLE: 'tenant',
      MOLECULE_CONFIG: join(dir, 'config.yaml'),
      MOLECULE_ENV_FILE: join(dir, 'molecule.env'),
      PORT: '41234',
      HOST: '127.0.0.1',
    });
    expect(spec.command).toBe(AGENT.command);
    expect(spec.args).toEqual(AGENT.args);
    expect(spec.args).not.toBe(AGENT.args);
    expect(spec.cwd).toBe(dir);
  });

  it('resolves a relative instance directory, so the paths survive a change of cwd', () => {
    const spec = renderLocalProcess(tenantSpec(), '.molecule/instances/op-local-1', AGENT);
    expect(spec.env.MOLECULE_CONFIG).toBe(
      join(process.cwd(), '.molecule/instances/op-local-1/config.yaml'),
    );
  });

  it('refuses a secret that would break the env file, without printing it', () => {
    const boot = { ...tenantSpec(), secrets: { TENANT_ADMIN_TOKEN: 'line-one\nline-two' } };
    let message = '';
    try {
      renderLocalProcess(boot, root, AGENT);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('TENANT_ADMIN_TOKEN');
    expect(message).not.toMatch(/line-one|line-two/);
  });
});

describe('writeLocalFiles', () => {
  it.each([0o022, 0o077, 0o000])('writes exactly 0644 and 0600 under umask %o', async (umask) => {
    const dir = join(root, 'instances', 'op-local-1');
    const spec = renderLocalProcess(tenantSpec(), dir, AGENT);
    const previous = process.umask(umask);
    try {
      await writeLocalFiles(spec);
    } finally {
      process.umask(previous);
    }
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(join(dir, 'config.yaml'))).toBe(0o644);
    expect(await modeOf(join(dir, 'molecule.env'))).toBe(0o600);
    expect(await readFile(join(dir, 'molecule.env'), 'utf8')).toBe(`TENANT_ADMIN_TOKEN=${TOKEN}\n`);
    expect(await readFile(join(dir, 'config.yaml'), 'utf8')).toBe(spec.files[0].content);
    // No temporary files left behind.
    expect(readdirSync(dir).sort()).toEqual(['config.yaml', 'molecule.env']);
  });

  it('replaces existing files and tightens loose modes', async () => {
    const dir = join(root, 'instance');
    const spec = renderLocalProcess(tenantSpec(), dir, AGENT);
    await writeLocalFiles(spec);
    await writeFile(join(dir, 'molecule.env'), 'stale\n');
    await chmod(join(dir, 'molecule.env'), 0o666);
    await chmod(dir, 0o755);
    await writeLocalFiles(spec);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(join(dir, 'molecule.env'))).toBe(0o600);
    expect(await readFile(join(dir, 'molecule.env'), 'utf8')).toBe(`TENANT_ADMIN_TOKEN=${TOKEN}\n`);
  });
});
