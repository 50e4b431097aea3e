import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { Secret } from './secret';

export const SERVICE_NAMES = [
  'api',
  'registry',
  'provisioner',
  'edge-router',
  'migrator',
  'key-rotator',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Variables each service refuses to start without. Everything else has a default. */
const REQUIRED: Record<ServiceName, readonly string[]> = {
  api: ['DATABASE_URL', 'REDIS_URL', 'MASTER_KEY', 'PLATFORM_ADMIN_TOKEN'],
  registry: ['DATABASE_URL', 'REDIS_URL', 'MASTER_KEY'],
  provisioner: ['DATABASE_URL', 'REDIS_URL', 'MASTER_KEY'],
  'edge-router': ['DATABASE_URL', 'REDIS_URL', 'MASTER_KEY'],
  migrator: ['DATABASE_URL'],
  'key-rotator': ['DATABASE_URL', 'MASTER_KEY'],
};

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL with scheme ${protocols.map((p) => p.replace(':', '://')).join(' or ')}`,
  );
const base64Key = z
  .string()
  .refine(
    (value) => /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32,
    'must be base64 that decodes to exactly 32 bytes (generate one with: openssl rand -base64 32)',
  );

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: z.enum(['true', 'false']).default('false'),
  HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port(3000),
  REGISTRY_PORT: port(3001),
  PROVISIONER_PORT: port(3002),
  EDGE_ROUTER_PORT: port(8080),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-z0-9:_-]+$/i, 'must contain only letters, digits, ":", "_" and "-"')
    .default('molecule'),
  MASTER_KEY: base64Key.optional(),
  MASTER_KEYS_PREVIOUS: z
    .string()
    .refine(
      (value) => value.split(',').every((k) => base64Key.safeParse(k.trim()).success),
      'must be a comma-separated list of base64 keys of 32 bytes each',
    )
    .optional(),
  PLATFORM_ADMIN_TOKEN: z
    .string()
    .refine((value) => value.length >= 32, 'must be at least 32 characters')
    .refine(
      (value) => !value.startsWith('change-me'),
      'must be replaced: it is the placeholder from .env.example',
    )
    .optional(),
  BASE_DOMAIN: z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
      {
        message: 'must be a lower-case DNS name such as example.com',
      },
    )
    .default('localhost'),
  COMPUTE_DRIVER: z.enum(['local', 'ec2']).default('local'),
  ROUTE_PUBLISHER: z.enum(['redis', 'cloudflare']).default('redis'),
});

type Env = z.infer<typeof schema>;

export interface AppConfig {
  readonly service: ServiceName;
  readonly version: string;
  readonly nodeEnv: Env['NODE_ENV'];
  readonly log: { readonly level: Env['LOG_LEVEL']; readonly pretty: boolean };
  readonly host: string;
  readonly ports: {
    readonly api: number;
    readonly registry: number;
    readonly provisioner: number;
    readonly edgeRouter: number;
  };
  readonly databaseUrl: Secret<string>;
  readonly redis: { readonly url: Secret<string>; readonly prefix: string };
  /** The current master key wraps new data keys; previous ones still unwrap old ones. */
  readonly masterKeys: { readonly current: Secret<Buffer>; readonly previous: Secret<Buffer>[] };
  readonly platformAdminToken: Secret<string>;
  readonly baseDomain: string;
  readonly computeDriver: Env['COMPUTE_DRIVER'];
  readonly routePublisher: Env['ROUTE_PUBLISHER'];
}

/** Thrown when the environment is invalid. Its message names variables, never their values. */
export class ConfigError extends Error {
  constructor(
    readonly service: ServiceName,
    readonly problems: readonly string[],
  ) {
    super(`Invalid configuration for ${service}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const EMPTY_KEY = new Secret(Buffer.alloc(0));

/**
 * Validates the environment once into a typed, immutable object. This is the only place in the
 * code base that reads `process.env`.
 */
export function loadConfig(
  service: ServiceName,
  env: NodeJS.ProcessEnv = process.env,
  version = packageVersion(),
): AppConfig {
  // Empty strings count as unset, the way shells and .env files usually mean them.
  const raw = Object.fromEntries(
    Object.keys(schema.shape).flatMap((key) =>
      env[key] === undefined || env[key] === '' ? [] : [[key, env[key]]],
    ),
  );
  const parsed = schema.safeParse(raw);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')} ${describe(issue)}`);
  for (const name of REQUIRED[service]) {
    if (raw[name] === undefined) problems.push(`${name} is required`);
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(service, problems);

  const e = parsed.data;
  const key = (value: string) => new Secret(Buffer.from(value.trim(), 'base64'));
  return Object.freeze({
    service,
    version,
    nodeEnv: e.NODE_ENV,
    log: { level: e.LOG_LEVEL, pretty: e.LOG_PRETTY === 'true' },
    host: e.HOST,
    ports: {
      api: e.API_PORT,
      registry: e.REGISTRY_PORT,
      provisioner: e.PROVISIONER_PORT,
      edgeRouter: e.EDGE_ROUTER_PORT,
    },
    databaseUrl: new Secret(e.DATABASE_URL ?? ''),
    redis: { url: new Secret(e.REDIS_URL ?? ''), prefix: e.REDIS_PREFIX },
    masterKeys: {
      current: e.MASTER_KEY ? key(e.MASTER_KEY) : EMPTY_KEY,
      previous: (e.MASTER_KEYS_PREVIOUS ?? '').split(',').filter(Boolean).map(key),
    },
    platformAdminToken: new Secret(e.PLATFORM_ADMIN_TOKEN ?? ''),
    baseDomain: e.BASE_DOMAIN,
    computeDriver: e.COMPUTE_DRIVER,
    routePublisher: e.ROUTE_PUBLISHER,
  });
}

/** The version in the root package.json, found from wherever this file was compiled to. */
function packageVersion(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (manifest.name === 'molecule-control-plane') return manifest.version ?? '0.0.0';
  }
  return '0.0.0';
}

/** Zod's own messages can quote the received value; ours never do. */
function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `must be a ${issue.expected}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map(String).join(', ')}`;
    case 'too_small':
    case 'too_big':
      return `is out of range (${issue.code === 'too_small' ? 'minimum' : 'maximum'} ${String(
        issue.code === 'too_small' ? issue.minimum : issue.maximum,
      )})`;
    case 'custom':
    case 'invalid_format':
      return issue.message;
    default:
      return 'is invalid';
  }
}

/** Where tests find Postgres and Redis (each test then makes its own database and key prefix). */
export function testInfrastructure(env: NodeJS.ProcessEnv = process.env): {
  databaseUrl: string;
  redisUrl: string;
} {
  return {
    databaseUrl: env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.TEST_REDIS_URL || 'redis://127.0.0.1:6379',
  };
}
