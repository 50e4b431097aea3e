import { readFileSync } from 'node:fs';

/**
 * The runtime's settings, read from the files and variables the boot contract (libs/boot) gives
 * it. This app runs as a plain `node` process on hosts, without the control plane's libraries,
 * so it validates its own environment here. Every error names the variable, never its value.
 */

export type AgentEnv = Readonly<Record<string, string | undefined>>;
export type AgentRole = 'tenant' | 'workspace';
export type AgentConfig = Record<string, unknown>;

export interface LoadedConfig {
  path: string;
  config: AgentConfig;
}

export interface TenantSettings {
  role: 'tenant';
  host: string;
  port: number;
  healthPath: string;
  orgId: string;
  orgSlug: string;
  orgName: string;
  /** The tenant credential; it opens every route but health. Never logged or returned. */
  adminToken: string;
}

/** A setting is missing or malformed; the message is safe to print. */
export class AgentSettingsError extends Error {
  override readonly name = 'AgentSettingsError';
}

// Containers must listen on every interface to be reachable through the published port; the
// local driver sets HOST=127.0.0.1.
export const DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_HEALTH_PATH = '/health';
export const MIN_TOKEN_LENGTH = 32;
// RFC 6750 b64token: a token outside it could never arrive in an `Authorization: Bearer` header.
export const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
// A DNS label, since the slug is the tenant's subdomain.
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const HEALTH_PATH = /^\/[\x21-\x7e]*$/;

/** Reads the JSON config file named by MOLECULE_CONFIG. */
export function loadConfig(env: AgentEnv): LoadedConfig {
  const path = nonEmpty(env.MOLECULE_CONFIG);
  if (path === undefined) {
    throw new AgentSettingsError('MOLECULE_CONFIG is not set (the path of the JSON config file)');
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new AgentSettingsError(`MOLECULE_CONFIG: cannot read the config file ${path} (${code})`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    throw new AgentSettingsError(`MOLECULE_CONFIG: the config file ${path} is not valid JSON`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new AgentSettingsError(`MOLECULE_CONFIG: the config file ${path} is not a JSON object`);
  }
  return { path, config: config as AgentConfig };
}

/** MOLECULE_ROLE, or the config's `role`; when both are set they must agree. */
export function resolveRole(env: AgentEnv, loaded: LoadedConfig): AgentRole {
  const fromEnv = nonEmpty(env.MOLECULE_ROLE);
  const fromConfig = loaded.config.role;
  if (fromEnv !== undefined && !isRole(fromEnv)) {
    throw new AgentSettingsError('MOLECULE_ROLE must be "tenant" or "workspace"');
  }
  if (fromConfig !== undefined && !isRole(fromConfig)) {
    throw new AgentSettingsError(
      `MOLECULE_CONFIG: "role" in ${loaded.path} must be "tenant" or "workspace"`,
    );
  }
  if (fromEnv !== undefined && fromConfig !== undefined && fromEnv !== fromConfig) {
    throw new AgentSettingsError(
      `MOLECULE_ROLE (${fromEnv}) contradicts "role" (${fromConfig}) in ${loaded.path}`,
    );
  }
  const role = fromEnv ?? fromConfig;
  if (role === undefined) {
    throw new AgentSettingsError(`MOLECULE_ROLE is not set and ${loaded.path} has no "role"`);
  }
  return role;
}

/** Everything tenant mode needs; lists every problem at once so one restart fixes them all. */
export function readTenantSettings(env: AgentEnv, loaded: LoadedConfig): TenantSettings {
  const problems: string[] = [];
  const { config, path } = loaded;

  const adminToken = nonEmpty(env.TENANT_ADMIN_TOKEN);
  if (adminToken === undefined) {
    problems.push('TENANT_ADMIN_TOKEN is not set');
  } else if (adminToken.length < MIN_TOKEN_LENGTH || !BEARER_TOKEN.test(adminToken)) {
    problems.push(
      `TENANT_ADMIN_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters of a bearer token ` +
        '(letters, digits, "-", ".", "_", "~", "+", "/")',
    );
  }

  const port = parsePort(env.PORT);
  if (port === undefined) {
    problems.push(
      env.PORT === undefined || env.PORT === ''
        ? 'PORT is not set'
        : 'PORT must be an integer from 1 to 65535',
    );
  }

  const orgSlug = config.orgSlug;
  if (typeof orgSlug !== 'string' || !SLUG.test(orgSlug)) {
    problems.push(`MOLECULE_CONFIG: "orgSlug" in ${path} must be a lower-case DNS label`);
  }
  const orgName = config.orgName;
  if (typeof orgName !== 'string' || orgName.trim() === '') {
    problems.push(`MOLECULE_CONFIG: "orgName" in ${path} must be a non-empty string`);
  }
  const orgId = config.orgId;
  if (typeof orgId !== 'string' || orgId.trim() === '') {
    problems.push(`MOLECULE_CONFIG: "orgId" in ${path} must be a non-empty string`);
  }
  const healthPath = config.healthPath ?? DEFAULT_HEALTH_PATH;
  if (typeof healthPath !== 'string' || !HEALTH_PATH.test(healthPath)) {
    problems.push(`MOLECULE_CONFIG: "healthPath" in ${path} must be an absolute path`);
  }

  if (problems.length > 0) {
    throw new AgentSettingsError(problems.join('; '));
  }
  return {
    role: 'tenant',
    host: nonEmpty(env.HOST) ?? DEFAULT_HOST,
    port: port as number,
    healthPath: healthPath as string,
    orgId: orgId as string,
    orgSlug: orgSlug as string,
    orgName: orgName as string,
    adminToken: adminToken as string,
  };
}

export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function isRole(value: unknown): value is AgentRole {
  return value === 'tenant' || value === 'workspace';
}

// An empty variable counts as unset, as in the control plane's own configuration.
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
