import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { BootSpec } from './boot-spec';
import { EC2_USER_DATA_LIMIT, renderCloudConfig, toUserData } from './cloud-init.renderer';

const ENV_PATH = '/etc/molecule/molecule.env';
const CONFIG_PATH = '/etc/molecule/config.yaml';
const UNIT_PATH = '/etc/systemd/system/molecule-tenant.service';

function tenantSpec(overrides: Partial<BootSpec> = {}): BootSpec {
  return {
    role: 'tenant',
    launchId: 'op-7f3c2a',
    config: { orgId: 'org-1', orgSlug: 'acme', orgName: 'Acme <Rockets> & "Co"', tier: 'small' },
    secrets: {
      TENANT_ADMIN_TOKEN: `mol_ta_${randomBytes(32).toString('base64url')}`,
      // Characters that a shell, YAML or docker would treat specially if anything interpreted them.
      EXTRA_SECRET: `s3cr3t "quoted" 'single' $HOME #hash: x ${randomBytes(8).toString('hex')}`,
    },
    port: 3000,
    healthPath: '/health',
    image: 'ghcr.io/example/molecule-tenant-host:1.4.2',
    ...overrides,
  };
}

/** The lines of one `write_files` entry: its header and its block literal content. */
function fileEntry(
  doc: string,
  path: string,
): { header: string[]; content: string; lines: number[] } {
  const lines = doc.split('\n');
  const start = lines.indexOf(`  - path: ${JSON.stringify(path)}`);
  expect(start).toBeGreaterThanOrEqual(0);
  let index = start + 1;
  const header: string[] = [];
  while (lines[index] !== '    content: |') header.push(lines[index++]);
  const contentStart = ++index;
  while (index < lines.length && (lines[index] === '' || lines[index].startsWith('      '))) {
    index++;
  }
  // Trailing empty lines belong to the document, not the block (`|` clips them).
  let end = index;
  while (end > contentStart && lines[end - 1] === '') end--;
  const content = lines
    .slice(contentStart, end)
    .map((line) => line.slice(6))
    .join('\n');
  return { header, content: content === '' ? '' : `${content}\n`, lines: [contentStart, end] };
}

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error('threw a non-Error', { cause: error });
  }
  throw new Error('did not throw');
}

describe('renderCloudConfig', () => {
  it('renders a #cloud-config document that installs Docker', () => {
    const doc = renderCloudConfig(tenantSpec());
    expect(doc.startsWith('#cloud-config\n')).toBe(true);
    expect(doc).toContain('\npackage_update: true\n');
    expect(doc).toContain('\npackages:\n  - "docker.io"\n');
  });

  it('writes the secrets to a root-only 0600 env file, one KEY=value line each', () => {
    const spec = tenantSpec();
    const env = fileEntry(renderCloudConfig(spec), ENV_PATH);
    expect(env.header).toEqual(['    owner: "root:root"', '    permissions: "0600"']);
    expect(env.content).toBe(
      `TENANT_ADMIN_TOKEN=${spec.secrets.TENANT_ADMIN_TOKEN}\nEXTRA_SECRET=${spec.secrets.EXTRA_SECRET}\n`,
    );
  });

  it('writes the non-secret config as JSON, world-readable, with the boot fields', () => {
    const spec = tenantSpec();
    const config = fileEntry(renderCloudConfig(spec), CONFIG_PATH);
    expect(config.header).toEqual(['    owner: "root:root"', '    permissions: "0644"']);
    expect(JSON.parse(config.content)).toEqual({
      ...spec.config,
      role: 'tenant',
      launchId: spec.launchId,
      port: 3000,
      healthPath: '/health',
    });
  });

  it('keeps every secret value inside the env file content and nowhere else', () => {
    const spec = tenantSpec();
    const doc = renderCloudConfig(spec);
    const [start, end] = fileEntry(doc, ENV_PATH).lines;
    const lines = doc.split('\n');
    const rest = [...lines.slice(0, start), ...lines.slice(end)].join('\n');
    for (const value of Object.values(spec.secrets)) {
      expect(doc).toContain(value);
      expect(rest).not.toContain(value);
    }
  });

  it('starts the runtime from a systemd unit that never carries or prints a secret', () => {
    const spec = tenantSpec();
    const doc = renderCloudConfig(spec);
    const unit = fileEntry(doc, UNIT_PATH);
    expect(unit.header).toEqual(['    owner: "root:root"', '    permissions: "0644"']);
    expect(unit.content).toContain('\nRestart=always\n');
    expect(unit.content).toContain(
      '\nExecStartPre=-/usr/bin/docker rm -f molecule-tenant\n' +
        'ExecStart=/usr/bin/docker run --rm --name molecule-tenant ' +
        '--env-file /etc/molecule/molecule.env ' +
        '-e MOLECULE_ROLE=tenant -e MOLECULE_CONFIG=/etc/molecule/config.yaml -e PORT=3000 ' +
        '-e HOST=0.0.0.0 ' +
        '-v /var/lib/molecule/state:/etc/molecule ' +
        '-v /etc/molecule/config.yaml:/etc/molecule/config.yaml:ro ' +
        '-p 3000:3000 ghcr.io/example/molecule-tenant-host:1.4.2\n',
    );
    expect(unit.content).toContain('\nWantedBy=multi-user.target\n');
    // Every command is docker itself: no shell that could expand, echo or trace the environment.
    const commands = unit.content.split('\n').filter((line) => line.startsWith('Exec'));
    expect(commands).toHaveLength(3);
    for (const line of commands) expect(line).toMatch(/^Exec[A-Za-z]+=-?\/usr\/bin\/docker /);
    for (const value of Object.values(spec.secrets)) expect(unit.content).not.toContain(value);
  });

  it('enables the unit with argv lists, not shell strings', () => {
    const doc = renderCloudConfig(tenantSpec());
    expect(
      doc.endsWith(
        'runcmd:\n' +
          '  - ["systemctl", "daemon-reload"]\n' +
          '  - ["systemctl", "enable", "--now", "molecule-tenant.service"]\n',
      ),
    ).toBe(true);
  });

  it('has no set -x and nothing about debugging', () => {
    const doc = renderCloudConfig(tenantSpec());
    expect(doc).not.toMatch(/set\s+-[a-z]*x/);
    expect(doc).not.toMatch(/debug/i);
  });

  it('fits in EC2 user data without compression', () => {
    const doc = renderCloudConfig(tenantSpec());
    const { userData, gzip } = toUserData(doc);
    expect(gzip).toBe(false);
    expect(userData.length).toBeLessThanOrEqual(EC2_USER_DATA_LIMIT);
    expect(Buffer.from(userData, 'base64').toString('utf8')).toBe(doc);
  });

  it('names the workspace unit after the role', () => {
    const doc = renderCloudConfig(tenantSpec({ role: 'workspace' }));
    expect(doc).toContain('  - path: "/etc/systemd/system/molecule-workspace.service"\n');
    expect(doc).toContain('"enable", "--now", "molecule-workspace.service"]');
  });

  it('writes an empty env file for a spec without secrets', () => {
    const doc = renderCloudConfig(tenantSpec({ secrets: {} }));
    expect(fileEntry(doc, ENV_PATH).content).toBe('');
  });

  it('escapes non-ASCII config so every byte of the document is plain ASCII', () => {
    const spec = tenantSpec({ config: { orgName: 'Zoë \u2028 “Q” 😀' } });
    const config = fileEntry(renderCloudConfig(spec), CONFIG_PATH);
    expect(config.content).toMatch(/^[\x20-\x7e\n]*$/);
    expect((JSON.parse(config.content) as { orgName: string }).orgName).toBe('Zoë \u2028 “Q” 😀');
  });

  it('is deterministic', () => {
    const spec = tenantSpec();
    expect(renderCloudConfig(spec)).toBe(renderCloudConfig(spec));
  });

  describe('refuses', () => {
    it.each([
      ['a newline', '\n'],
      ['a carriage return', '\r'],
      ['a NUL', '\u0000'],
      ['a Unicode line separator', '\u2028'],
    ])('a secret containing %s, naming the key but not the value', (_what, separator) => {
      const [head, tail] = [randomBytes(8).toString('hex'), randomBytes(8).toString('hex')];
      const message = errorOf(() =>
        renderCloudConfig(tenantSpec({ secrets: { DB_PASSWORD: `${head}${separator}${tail}` } })),
      ).message;
      expect(message).toContain('DB_PASSWORD');
      expect(message).not.toContain(head);
      expect(message).not.toContain(tail);
    });

    it('a secret whose value was copied into the config, without printing it', () => {
      const token = `mol_ta_${randomBytes(32).toString('base64url')}`;
      const spec = tenantSpec({
        config: { orgSlug: 'acme', leaked: token },
        secrets: { TENANT_ADMIN_TOKEN: token },
      });
      const message = errorOf(() => renderCloudConfig(spec)).message;
      expect(message).toContain('TENANT_ADMIN_TOKEN');
      expect(message).not.toContain(token);
    });

    it.each(['PORT', 'MOLECULE_CONFIG', 'HOST', 'bad-name', '1ST'])('a secret named %s', (key) => {
      expect(() => renderCloudConfig(tenantSpec({ secrets: { [key]: 'value' } }))).toThrow(key);
    });

    it.each([
      ['an image with a space', { image: 'nginx --privileged' }],
      ['an image with a newline', { image: 'nginx\nExecStartPost=/bin/true' }],
      ['an image with a systemd specifier', { image: 'nginx:%i' }],
      ['a port out of range', { port: 70000 }],
      ['a relative health path', { healthPath: 'health' }],
      ['a launch id with a slash', { launchId: '../x' }],
      ['a non-finite config number', { config: { n: Number.NaN } }],
    ])('%s', (_what, overrides: Partial<BootSpec>) => {
      expect(() => renderCloudConfig(tenantSpec(overrides))).toThrow(/^boot spec: /);
    });
  });
});

describe('renderCloudConfig for a workspace', () => {
  const bootstrap = `mol_wb_${randomBytes(32).toString('base64url')}`;
  const workspace = (overrides: Partial<BootSpec> = {}) =>
    tenantSpec({
      role: 'workspace',
      config: { workspaceId: 'w-1', registryUrl: 'https://registry.example.test' },
      secrets: {
        WORKSPACE_BOOTSTRAP_TOKEN: bootstrap,
        ANTHROPIC_API_KEY: 'sk-test-value-0123456789',
      },
      install: [['docker', 'pull', 'molecule/claude-agent:latest']],
      ...overrides,
    });

  it('writes config.yaml and the bootstrap token only into the 0600 env file', () => {
    const doc = renderCloudConfig(workspace());
    expect(doc).toContain('"/etc/molecule/config.yaml"');
    const envStart = doc.indexOf('"/etc/molecule/molecule.env"');
    expect(envStart).toBeGreaterThan(0);
    expect(doc.slice(envStart, envStart + 200)).toContain('permissions: "0600"');
    expect(doc.split(bootstrap)).toHaveLength(2);
    expect(doc.indexOf(bootstrap)).toBeGreaterThan(envStart);
  });

  it('installs Docker and the runtime only when there is no pre-baked image', () => {
    const installing = renderCloudConfig(workspace());
    expect(installing).toContain('"docker.io"');
    expect(installing).toContain('["docker", "pull", "molecule/claude-agent:latest"]');
    const prebaked = renderCloudConfig(workspace({ prebaked: true }));
    expect(prebaked).not.toContain('docker.io');
    expect(prebaked).not.toContain('package_update');
    expect(prebaked).not.toContain('"docker", "pull"');
    expect(prebaked).toContain('"enable", "--now", "molecule-workspace.service"]');
  });

  it('has no set -x, no debug server, and fits in 16 KB', () => {
    const doc = renderCloudConfig(workspace());
    expect(doc).not.toMatch(/set -x|debug/i);
    expect(toUserData(doc).userData.length).toBeLessThan(16_384);
  });
});

describe('toUserData', () => {
  it('gzips text above 12 KiB and the result round-trips', () => {
    // Realistic bulk (a long config) compresses well.
    const config = Object.fromEntries(
      Array.from({ length: 400 }, (_, i) => [`setting_${i}`, `value number ${i} of the host`]),
    );
    const doc = renderCloudConfig(tenantSpec({ config }));
    expect(Buffer.byteLength(doc)).toBeGreaterThan(12 * 1024);
    const { userData, gzip } = toUserData(doc);
    expect(gzip).toBe(true);
    expect(userData.length).toBeLessThanOrEqual(EC2_USER_DATA_LIMIT);
    expect(gunzipSync(Buffer.from(userData, 'base64')).toString('utf8')).toBe(doc);
  });

  it('keeps text up to 12 KiB as is', () => {
    const text = `#cloud-config\n${'#'.repeat(12 * 1024 - 15)}\n`;
    expect(Buffer.byteLength(text)).toBe(12 * 1024);
    const { userData, gzip } = toUserData(text);
    expect(gzip).toBe(false);
    expect(userData.length).toBe(EC2_USER_DATA_LIMIT);
    expect(Buffer.from(userData, 'base64').toString('utf8')).toBe(text);
  });

  it('refuses user data that stays over 16 KB even gzipped', () => {
    // Random text barely compresses.
    const text = `#cloud-config\n# ${randomBytes(20_000).toString('base64')}\n`;
    expect(() => toUserData(text)).toThrow(/over the EC2 limit of 16384 bytes/);
  });
});
