import { networkInterfaces } from 'node:os';
import type { NetworkInterfaceInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import {
  AgentSettingsError,
  BEARER_TOKEN,
  DEFAULT_HEALTH_PATH,
  DEFAULT_HOST,
  HEALTH_PATH,
  MIN_TOKEN_LENGTH,
  nonEmpty,
  parsePort,
} from './agent-settings';
import type { AgentEnv, LoadedConfig } from './agent-settings';

/**
 * Workspace mode's settings: the config file libs/boot renders (`MOLECULE_CONFIG`, JSON) plus the
 * environment. Like tenant mode, every problem is listed at once and no message carries a value
 * that could be a secret.
 *
 * Config keys: workspaceId, orgId, name, runtime, registryUrl, port (PORT wins), healthPath,
 * stateDir, publicUrl, heartbeatIntervalSeconds, registryTimeoutSeconds.
 * Environment: WORKSPACE_BOOTSTRAP_TOKEN (secret), PORT, HOST.
 */

export interface WorkspaceSettings {
  role: 'workspace';
  host: string;
  port: number;
  healthPath: string;
  workspaceId: string;
  orgId: string;
  name: string;
  runtime: string;
  /** Base URL of the registry, without a trailing slash. */
  registryUrl: string;
  /** How peers and the registry reach this agent, without a trailing slash. */
  publicUrl: string;
  /** Where the session token is kept across restarts. */
  stateDir: string;
  /** Used until the registry says otherwise (its register reply always does). */
  heartbeatIntervalSeconds: number;
  /** How long boot keeps retrying an unreachable registry before it reports and gives up. */
  registryTimeoutSeconds: number;
  /** Single use; absent on a restart that has a stored session token. Never logged. */
  bootstrapToken: string | undefined;
}

export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 15;
export const DEFAULT_REGISTRY_TIMEOUT_SECONDS = 30;
const MAX_HEARTBEAT_INTERVAL_SECONDS = 3600;
const MAX_REGISTRY_TIMEOUT_SECONDS = 600;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

export function readWorkspaceSettings(
  env: AgentEnv,
  loaded: LoadedConfig,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): WorkspaceSettings {
  const problems: string[] = [];
  const { config, path } = loaded;
  const where = (key: string): string => `MOLECULE_CONFIG: "${key}" in ${path}`;

  const bootstrapToken = nonEmpty(env.WORKSPACE_BOOTSTRAP_TOKEN);
  if (bootstrapToken !== undefined && !isBearerToken(bootstrapToken)) {
    problems.push(
      `WORKSPACE_BOOTSTRAP_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters of a bearer ` +
        'token (letters, digits, "-", ".", "_", "~", "+", "/")',
    );
  }

  // PORT is what the process is told to bind; the config's copy is the fallback for hand-written
  // configs. libs/boot renders both with the same value.
  let port = parsePort(env.PORT);
  if (port === undefined && nonEmpty(env.PORT) !== undefined) {
    problems.push('PORT must be an integer from 1 to 65535');
  } else if (port === undefined) {
    const fromConfig = config.port;
    port =
      typeof fromConfig === 'number' && Number.isInteger(fromConfig)
        ? parsePort(String(fromConfig))
        : undefined;
    if (port === undefined) {
      problems.push(
        fromConfig === undefined
          ? `PORT is not set and ${path} has no "port"`
          : `${where('port')} must be an integer from 1 to 65535`,
      );
    }
  }

  const workspaceId = config.workspaceId;
  if (typeof workspaceId !== 'string' || !UUID.test(workspaceId)) {
    problems.push(`${where('workspaceId')} must be a UUID`);
  }
  const orgId = requiredString(config.orgId, where('orgId'), problems);
  const name = requiredString(config.name, where('name'), problems);
  const runtime = requiredString(config.runtime, where('runtime'), problems);

  const registryUrl = httpUrl(config.registryUrl);
  if (registryUrl === undefined) {
    problems.push(`${where('registryUrl')} must be an http(s) URL without credentials`);
  }

  const healthPath = config.healthPath ?? DEFAULT_HEALTH_PATH;
  if (typeof healthPath !== 'string' || !HEALTH_PATH.test(healthPath)) {
    problems.push(`${where('healthPath')} must be an absolute path`);
  }

  let stateDir = dirname(resolve(path));
  if (config.stateDir !== undefined) {
    if (typeof config.stateDir !== 'string' || config.stateDir.trim() === '') {
      problems.push(`${where('stateDir')} must be a non-empty path`);
    } else {
      // Relative to the config file, so the setting means the same whatever the working directory.
      stateDir = resolve(dirname(resolve(path)), config.stateDir);
    }
  }

  const heartbeatIntervalSeconds = positiveSeconds(
    config.heartbeatIntervalSeconds,
    DEFAULT_HEARTBEAT_INTERVAL_SECONDS,
    MAX_HEARTBEAT_INTERVAL_SECONDS,
    where('heartbeatIntervalSeconds'),
    problems,
  );
  const registryTimeoutSeconds = positiveSeconds(
    config.registryTimeoutSeconds,
    DEFAULT_REGISTRY_TIMEOUT_SECONDS,
    MAX_REGISTRY_TIMEOUT_SECONDS,
    where('registryTimeoutSeconds'),
    problems,
  );

  const host = nonEmpty(env.HOST) ?? DEFAULT_HOST;
  let publicUrl: string | undefined;
  if (config.publicUrl !== undefined) {
    publicUrl = httpUrl(config.publicUrl);
    if (publicUrl === undefined) {
      problems.push(`${where('publicUrl')} must be an http(s) URL without credentials`);
    }
  } else if (port !== undefined) {
    publicUrl = `http://${advertisedHost(host, interfaces)}:${port}`;
  }

  if (problems.length > 0) {
    throw new AgentSettingsError(problems.join('; '));
  }
  return {
    role: 'workspace',
    host,
    port: port as number,
    healthPath: healthPath as string,
    workspaceId: (workspaceId as string).toLowerCase(),
    orgId: orgId as string,
    name: name as string,
    runtime: runtime as string,
    registryUrl: registryUrl as string,
    publicUrl: publicUrl as string,
    stateDir,
    heartbeatIntervalSeconds,
    registryTimeoutSeconds,
    bootstrapToken,
  };
}

/**
 * What is worth trying when the settings are incomplete: enough to tell the registry why this
 * workspace cannot boot (stage `config`), if the registry URL and a credential are readable.
 */
export function readRegistryUrl(loaded: LoadedConfig): string | undefined {
  return httpUrl(loaded.config.registryUrl);
}

export function isBearerToken(value: string): boolean {
  return value.length >= MIN_TOKEN_LENGTH && BEARER_TOKEN.test(value);
}

/**
 * An address peers can use when the server binds every interface: the first external IPv4
 * address (a VM's private address), else loopback. A bind address of 0.0.0.0 would be useless in
 * an agent card. Containers see their bridge address here, so EC2 configs set `publicUrl`.
 */
export function advertisedHost(
  host: string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): string {
  if (WILDCARD_HOSTS.has(host)) {
    for (const infos of Object.values(interfaces)) {
      const external = infos?.find((info) => info.family === 'IPv4' && !info.internal);
      if (external !== undefined) return external.address;
    }
    return '127.0.0.1';
  }
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** An http(s) URL without credentials, query or fragment, normalized without a trailing slash. */
function httpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  // Credentials in the URL would end up in logs and agent cards.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return undefined;
  }
  return url.href.replace(/\/+$/, '');
}

function requiredString(value: unknown, what: string, problems: string[]): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push(`${what} must be a non-empty string`);
    return undefined;
  }
  return value;
}

function positiveSeconds(
  value: unknown,
  fallback: number,
  max: number,
  what: string,
  problems: string[],
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    problems.push(`${what} must be a number of seconds above 0, at most ${max}`);
    return fallback;
  }
  return value;
}
