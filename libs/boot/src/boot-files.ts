import type { BootSpec } from './boot-spec';

/**
 * What both renderers write: the non-secret config (as JSON, so the runtime needs no YAML parser)
 * and the root-only env file of secrets. Keeping them in one place is what makes a local process
 * and an EC2 host boot from identical files.
 */

export const CONFIG_FILE_NAME = 'config.yaml';
export const ENV_FILE_NAME = 'molecule.env';
export const CONFIG_FILE_MODE = 0o644;
export const ENV_FILE_MODE = 0o600;

/**
 * Environment variables the renderers set themselves. A secret with one of these names would be
 * silently shadowed (or would shadow them), so it is refused instead.
 */
export const RESERVED_ENV_KEYS: readonly string[] = [
  'MOLECULE_ROLE',
  'MOLECULE_CONFIG',
  'MOLECULE_ENV_FILE',
  'PORT',
  'HOST',
];

const LAUNCH_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// Printable ASCII without spaces: the path is matched verbatim by health checks and lands in config.
const HEALTH_PATH = /^\/[\x21-\x7e]*$/;
// A Docker image reference (registry/name:tag@digest). It is interpolated into the unit's
// ExecStart, so anything that systemd would expand or split on (%, $, spaces, quotes) is refused.
const IMAGE = /^[a-z0-9][a-z0-9._\-/:@]*$/i;
// Names `docker --env-file` and a POSIX shell accept; `#` would start a comment there.
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
// An env file holds one `KEY=value` per line, so no value may break a line. YAML also forbids C0
// controls (except tab), DEL and C1 controls, and YAML 1.1 (PyYAML, inside cloud-init) treats
// NEL, LS and PS as line breaks, so none of them can sit inside a block literal either.
// Lone surrogates (\p{Cs} in a `u` regex) cannot be encoded as UTF-8 at all.
// eslint-disable-next-line no-control-regex
const UNSAFE_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]|\p{Cs}/u;

/** Throws a message that names the offending field; never includes a secret value. */
export function validateBootSpec(spec: BootSpec): void {
  if (spec.role !== 'tenant' && spec.role !== 'workspace') {
    throw new Error('boot spec: role must be "tenant" or "workspace"');
  }
  if (typeof spec.launchId !== 'string' || !LAUNCH_ID.test(spec.launchId)) {
    throw new Error('boot spec: launchId must be 1-128 letters, digits, ".", "_" or "-"');
  }
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) {
    throw new Error('boot spec: port must be an integer from 1 to 65535');
  }
  if (typeof spec.healthPath !== 'string' || !HEALTH_PATH.test(spec.healthPath)) {
    throw new Error('boot spec: healthPath must be an absolute path of printable characters');
  }
  if (typeof spec.image !== 'string' || !IMAGE.test(spec.image)) {
    throw new Error('boot spec: image must be a Docker image reference');
  }
  for (const [key, value] of Object.entries(spec.config ?? {})) {
    const ok =
      value === null ||
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value));
    // JSON.stringify would quietly turn NaN or Infinity into null; refuse instead.
    if (!ok) {
      throw new Error(
        `boot spec: config "${key}" must be a string, finite number, boolean or null`,
      );
    }
  }
  for (const [key, value] of Object.entries(spec.secrets ?? {})) {
    if (!ENV_KEY.test(key)) {
      throw new Error(`boot spec: secret name "${key}" must match ${ENV_KEY.source}`);
    }
    if (RESERVED_ENV_KEYS.includes(key)) {
      throw new Error(`boot spec: secret name "${key}" is reserved for the boot contract`);
    }
    // The message names the key only: the value is the secret.
    if (typeof value !== 'string') {
      throw new Error(`boot spec: secret "${key}" must be a string`);
    }
    if (UNSAFE_VALUE_CHAR.test(value)) {
      throw new Error(
        `boot spec: secret "${key}" contains a line break or control character, which the env file cannot hold`,
      );
    }
  }
}

/**
 * The config file: the spec's non-secret config plus the boot fields the runtime needs, which
 * win over same-named config keys so the file can never contradict the spec. Non-ASCII is
 * escaped, which keeps the JSON valid and every byte safe inside a YAML block literal.
 */
export function renderConfigFile(spec: BootSpec): string {
  const config = {
    ...spec.config,
    role: spec.role,
    launchId: spec.launchId,
    port: spec.port,
    healthPath: spec.healthPath,
  };
  return `${asciiOnly(JSON.stringify(config, null, 2))}\n`;
}

/**
 * `KEY=value` lines for `docker --env-file` (which takes the value verbatim, no quoting) and for
 * the local runtime. Call `validateBootSpec` first: it guarantees one line per secret.
 */
export function renderEnvFile(spec: BootSpec): string {
  return Object.entries(spec.secrets)
    .map(([key, value]) => `${key}=${value}\n`)
    .join('');
}

function asciiOnly(json: string): string {
  return json.replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
