import { gzipSync } from 'node:zlib';
import {
  CONFIG_FILE_NAME,
  ENV_FILE_NAME,
  renderConfigFile,
  renderEnvFile,
  validateBootSpec,
} from './boot-files';
import type { BootSpec } from './boot-spec';

const HOST_DIR = '/etc/molecule';
export const HOST_CONFIG_PATH = `${HOST_DIR}/${CONFIG_FILE_NAME}`;
export const HOST_ENV_PATH = `${HOST_DIR}/${ENV_FILE_NAME}`;
/**
 * What the runtime writes and must keep across container restarts (a workspace's session token:
 * its bootstrap token is spent once). Mounted at the config's directory in the container, which
 * is where the runtime keeps its state by default.
 */
export const HOST_STATE_DIR = '/var/lib/molecule/state';

/** EC2 refuses user data above 16 KB. */
export const EC2_USER_DATA_LIMIT = 16384;
/**
 * Above this, the text is gzipped (cloud-init recognises the gzip magic). 12 KiB of text is 16 KiB
 * once base64-encoded, so uncompressed user data never crosses the limit.
 */
export const GZIP_THRESHOLD = 12 * 1024;

// A secret this short could match ordinary text ("true", a port), so the leak check skips it.
const LEAK_CHECK_MIN_LENGTH = 8;

/**
 * Renders the EC2 user data (`#cloud-config`) for a host. The secrets go only into the 0600 env
 * file, which docker hands to the container; the unit, runcmd and config never carry them, and
 * nothing here prints anything to the console.
 *
 * The YAML is emitted by hand (the project has no YAML dependency): every scalar is a
 * double-quoted string and every file is a block literal, which keeps the quoting rules trivial.
 */
export function renderCloudConfig(spec: BootSpec): string {
  validateBootSpec(spec);
  const unit = `molecule-${spec.role}`;
  const unitFile = `${unit}.service`;

  const installing = !spec.prebaked;
  const before = [
    '#cloud-config',
    ...(installing ? ['package_update: true', 'packages:', `  - ${yamlString('docker.io')}`] : []),
    'write_files:',
    fileEntry(HOST_CONFIG_PATH, '0644') + blockLiteral(renderConfigFile(spec)),
    fileEntry(HOST_ENV_PATH, '0600'),
  ].join('\n');
  const envContent = blockLiteral(renderEnvFile(spec));
  const after = [
    fileEntry(`/etc/systemd/system/${unitFile}`, '0644') + blockLiteral(renderUnit(spec, unit)),
    // argv lists, not shell strings: nothing is interpreted by a shell.
    'runcmd:',
    ...(installing ? (spec.install ?? []).map((argv) => `  - ${yamlArgv(argv)}`) : []),
    `  - ${yamlArgv(['systemctl', 'daemon-reload'])}`,
    `  - ${yamlArgv(['systemctl', 'enable', '--now', unitFile])}`,
  ].join('\n');

  assertNoSecretOutsideEnvFile(spec, `${before}\n${after}`);
  return `${before}${envContent}\n${after}\n`;
}

/**
 * The value for `RunInstances.UserData` (base64). Gzips text above 12 KiB; throws when even the
 * gzipped form would be too large. The check is on the base64 length, stricter than EC2's own
 * (which counts the bytes before encoding), so passing here always passes there.
 */
export function toUserData(cloudConfig: string): { userData: string; gzip: boolean } {
  const raw = Buffer.from(cloudConfig, 'utf8');
  const gzip = raw.length > GZIP_THRESHOLD;
  const payload = gzip ? gzipSync(raw, { level: 9 }) : raw;
  const userData = payload.toString('base64');
  if (userData.length > EC2_USER_DATA_LIMIT) {
    throw new Error(
      `user data is ${userData.length} bytes once ${gzip ? 'gzipped and ' : ''}base64-encoded, ` +
        `over the EC2 limit of ${EC2_USER_DATA_LIMIT} bytes; move large content out of the boot spec`,
    );
  }
  return { userData, gzip };
}

function renderUnit(spec: BootSpec, unit: string): string {
  // The runtime's non-secret settings are passed with -e, visible in the unit; the env file
  // carries only secrets. The config is mounted read-only at the same path as on the host, on
  // top of the writable state directory, so what the runtime stores next to its config (the
  // session token) survives a restart of the container.
  const run = [
    '/usr/bin/docker run --rm',
    `--name ${unit}`,
    `--env-file ${HOST_ENV_PATH}`,
    `-e MOLECULE_ROLE=${spec.role}`,
    `-e MOLECULE_CONFIG=${HOST_CONFIG_PATH}`,
    `-e PORT=${spec.port}`,
    '-e HOST=0.0.0.0',
    `-v ${HOST_STATE_DIR}:${HOST_DIR}`,
    `-v ${HOST_CONFIG_PATH}:${HOST_CONFIG_PATH}:ro`,
    `-p ${spec.port}:${spec.port}`,
    spec.image,
  ].join(' ');
  return [
    '[Unit]',
    `Description=Molecule ${spec.role} host (launch ${spec.launchId})`,
    'Wants=network-online.target',
    'After=network-online.target docker.service',
    'Requires=docker.service',
    // Never give up restarting: the control plane's health checks decide when a host is lost.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Restart=always',
    'RestartSec=2',
    // A container left over from a crash would hold the name; "-" ignores "no such container".
    `ExecStartPre=-/usr/bin/docker rm -f ${unit}`,
    `ExecStart=${run}`,
    `ExecStop=/usr/bin/docker stop ${unit}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** A `write_files` entry up to its `content: |` line; the block literal follows it. */
function fileEntry(path: string, permissions: string): string {
  return [
    `  - path: ${yamlString(path)}`,
    `    owner: ${yamlString('root:root')}`,
    `    permissions: ${yamlString(permissions)}`,
    '    content: |',
  ].join('\n');
}

/**
 * The body of a `|` block literal under a `write_files` entry, starting with a newline (the `|` is
 * on the key's line). Nothing in a block literal is escaped, so the content only has to end with
 * exactly one newline (what `|` keeps) and must not begin with whitespace (which would change the
 * indentation YAML detects). Empty lines stay empty rather than carrying trailing spaces.
 */
function blockLiteral(content: string): string {
  const indent = '      ';
  // No lines at all is an empty string in YAML (an env file of a spec without secrets).
  if (content === '') return '';
  if (!content.endsWith('\n') || content.endsWith('\n\n') || /^[ \t]/.test(content)) {
    // An internal invariant: the renderers above control every file's shape.
    throw new Error('cloud-init renderer: file content cannot be written as a block literal');
  }
  return content
    .slice(0, -1)
    .split('\n')
    .map((line) => (line === '' ? '' : `${indent}${line}`))
    .reduce((out, line) => `${out}\n${line}`, '');
}

/**
 * A YAML double-quoted scalar. JSON's escapes are a subset of YAML's; non-ASCII is escaped by
 * code point (YAML 1.1 would split a JSON surrogate pair, and treats U+2028/9 as line breaks).
 */
function yamlString(value: string): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/gu, (char) => {
    const code = char.codePointAt(0) ?? 0;
    return code > 0xffff
      ? `\\U${code.toString(16).padStart(8, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function yamlArgv(argv: string[]): string {
  return `[${argv.map(yamlString).join(', ')}]`;
}

/**
 * Defence in depth: a secret copied into config (or anywhere else) would reach files that are
 * world-readable on the host. Refuse to render rather than ship it; name the key, not the value.
 */
function assertNoSecretOutsideEnvFile(spec: BootSpec, rendered: string): void {
  for (const [key, value] of Object.entries(spec.secrets)) {
    if (value.length >= LEAK_CHECK_MIN_LENGTH && rendered.includes(value)) {
      throw new Error(
        `boot spec: the value of secret "${key}" also appears outside the env file (config?)`,
      );
    }
  }
}
