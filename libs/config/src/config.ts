import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import {
  EDGE_ROUTER_ENV,
  edgeRouterConfig,
  edgeRouterProblems,
  type EdgeRouterConfig,
} from './edge-router.config';
import { RATE_LIMIT_ENV, rateLimitConfig, type RateLimitConfig } from './rate-limit.config';
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

/** Services that write routes to the stores (the edge router only reads Redis). */
const USES_ROUTES = new Set<ServiceName>(['provisioner']);

function isCidr(value: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  return Boolean(
    match && match.slice(1, 5).every((o) => Number(o) <= 255) && Number(match[5]) <= 32,
  );
}

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
  ...EDGE_ROUTER_ENV,
  ...RATE_LIMIT_ENV,
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
  TENANT_IMAGE: z.string().min(1).default('molecule/tenant-host:latest'),
  LOCAL_INSTANCES_DIR: z.string().min(1).default('.molecule/instances'),
  LOCAL_AGENT_COMMAND: z
    .string()
    .refine((value) => {
      try {
        const parsed: unknown = JSON.parse(value);
        return (
          Array.isArray(parsed) && parsed.length > 0 && parsed.every((p) => typeof p === 'string')
        );
      } catch {
        return false;
      }
    }, 'must be a JSON array of strings, e.g. ["node","runtime.js"]')
    .optional(),
  EC2_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1')
    .optional(),
  EC2_AMI_ID: z
    .string()
    .regex(/^ami-[0-9a-f]{8,17}$/, 'must be an AMI id (ami-…)')
    .optional(),
  EC2_VPC_ID: z
    .string()
    .regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id (vpc-…)')
    .optional(),
  EC2_SUBNET_ID: z
    .string()
    .regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id (subnet-…)')
    .optional(),
  EC2_INGRESS_CIDRS: z
    .string()
    .refine(
      (v) => v.split(',').every((c) => isCidr(c.trim())),
      'must be a comma-separated list of CIDR ranges',
    )
    .refine(
      (v) => !v.split(',').some((c) => c.trim() === '0.0.0.0/0'),
      'must not contain 0.0.0.0/0',
    )
    .optional(),
  EC2_ADMIN_CIDR: z
    .string()
    .refine((v) => isCidr(v), 'must be a CIDR range')
    .refine((v) => !v.endsWith('/0'), 'must not be a /0 range')
    .optional(),
  EC2_INSTANCE_TYPES: z
    .string()
    .regex(
      /^[a-z0-9-]+=[a-z0-9]+\.[a-z0-9]+(,[a-z0-9-]+=[a-z0-9]+\.[a-z0-9]+)*$/,
      'must look like standard=t3.small,large=t3.large',
    )
    .default('standard=t3.small,large=t3.large'),
  CLOUDFLARE_API_TOKEN: z
    .string()
    .min(1)
    .refine(
      (value) => !value.startsWith('change-me'),
      'must be replaced: it is the placeholder from .env.example',
    )
    .optional(),
  CLOUDFLARE_ACCOUNT_ID: z
    .string()
    .regex(/^[0-9a-f]{32}$/, 'must be a 32-character hex account id')
    .optional(),
  CLOUDFLARE_KV_NAMESPACE_ID: z
    .string()
    .regex(/^[0-9a-f]{32}$/, 'must be a 32-character hex namespace id')
    .optional(),
  CLOUDFLARE_BASE_URL: url(['https:', 'http:']).optional(),
  ORPHAN_GRACE_SECONDS: z.coerce.number().int().min(0).default(600),
  ORPHAN_DRY_RUN: z.enum(['true', 'false']).default('false'),
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
  OPERATION_STUCK_SECONDS: z.coerce.number().int().min(10).default(600),
  TENANT_HEALTH_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(300),
  REGISTRY_URL: url(['http:', 'https:']).optional(),
  RUNTIME_CATALOG: z.string().min(1).optional(),
  HEARTBEAT_INTERVAL_SECONDS: z.coerce.number().min(0.1).max(3600).default(15),
  HEARTBEAT_MISSED_BEFORE_OFFLINE: z.coerce.number().int().min(1).max(100).default(4),
  HEALTH_SWEEP_INTERVAL_SECONDS: z.coerce.number().min(0.1).max(3600).default(5),
  BOOTSTRAP_TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).default(1800),
  API_KEY_CACHE_SECONDS: z.coerce.number().min(0).max(60).default(5),
  DEGRADED_ERROR_RATE: z.coerce.number().min(0).max(1).default(0.5),
  MEMORY_MAX_BYTES: z.coerce.number().int().min(256).max(1_048_576).default(16_384),
  MAX_REQUEST_BYTES: z.coerce.number().int().min(1024).max(104_857_600).default(1_048_576),
  A2A_MAX_RESPONSE_BYTES: z.coerce.number().int().min(1024).max(1_073_741_824).default(10_485_760),
  A2A_TIMEOUT_SECONDS: z.coerce.number().min(1).max(86_400).default(300),
  A2A_CONNECT_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(60).default(5),
  EVENTS_RETENTION_COUNT: z.coerce.number().int().min(10).max(10_000).default(1000),
  EVENTS_RETENTION_SECONDS: z.coerce.number().int().min(10).max(604_800).default(3600),
  EVENTS_HEARTBEAT_SECONDS: z.coerce.number().min(0.1).max(300).default(15),
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
  /**
   * How long a service's routes trust an API key they verified without asking Postgres again:
   * a revoked key keeps working that long on the other replicas (the one that revoked it forgets
   * it at once). 0 looks every key up on every request.
   */
  readonly apiKeyCacheSeconds: number;
  readonly baseDomain: string;
  /** The edge router's tunables (EDGE_*), and where the api sends visitors to sign in. */
  readonly edge: EdgeRouterConfig;
  /** Request rate limits (RATE_LIMIT_*) and the trusted proxies in front of the service. */
  readonly rateLimit: RateLimitConfig;
  readonly computeDriver: Env['COMPUTE_DRIVER'];
  readonly routePublisher: Env['ROUTE_PUBLISHER'];
  readonly tenantImage: string;
  readonly local: {
    readonly instancesDir: string;
    /** Overrides the runtime the local driver starts (default: the reference workspace agent). */
    readonly agentCommand?: readonly string[];
  };
  /** Present when COMPUTE_DRIVER=ec2. */
  readonly ec2?: {
    readonly region: string;
    readonly amiId: string;
    readonly vpcId: string;
    readonly subnetId: string;
    readonly ingressCidrs: string[];
    readonly adminCidr?: string;
    readonly instanceTypes: Record<string, string>;
  };
  /** Present when ROUTE_PUBLISHER=cloudflare. */
  readonly cloudflare?: {
    readonly apiToken: Secret<string>;
    readonly accountId: string;
    readonly kvNamespaceId: string;
    readonly baseUrl?: string;
  };
  /** A runtime catalog file replacing the committed one (same format as runtimes.json). */
  readonly runtimeCatalogPath?: string;
  readonly registry: {
    /** Where workspaces reach the registry (written into their boot config). */
    readonly publicUrl: string;
    readonly heartbeatIntervalSeconds: number;
    readonly missedBeforeOffline: number;
    readonly sweepIntervalSeconds: number;
    readonly bootstrapTokenTtlSeconds: number;
    /** A reported error rate at or above this marks a workspace `degraded`. */
    readonly degradedErrorRate: number;
  };
  /** The largest request body any route accepts, the A2A relay's included (SPEC: 1 MiB). */
  readonly maxRequestBytes: number;
  /** Relaying A2A messages to workspaces (registry proxy, user → agent messages). */
  readonly a2a: {
    /** A reply larger than this is cut off (502 when it is not streamed yet). */
    readonly maxResponseBytes: number;
    /** How long a reply may take, and how long a stream may stay silent. */
    readonly timeoutSeconds: number;
    readonly connectTimeoutSeconds: number;
  };
  /** Live org events (`GET /v1/orgs/:slug/events`): a Redis Stream per org. */
  readonly events: {
    /** Each org's stream keeps about this many recent events for `Last-Event-ID` resume… */
    readonly retentionCount: number;
    /** …and none older than this. */
    readonly retentionSeconds: number;
    /** Interval of the SSE comment lines that keep idle proxies from closing a stream. */
    readonly heartbeatSeconds: number;
  };
  /** Agent memory (registry and api). */
  readonly memory: {
    /** The largest memory content, in UTF-8 bytes after trimming (413 above it). */
    readonly maxBytes: number;
  };
  readonly reconcile: {
    readonly intervalSeconds: number;
    readonly orphanGraceSeconds: number;
    readonly orphanDryRun: boolean;
    readonly operationStuckSeconds: number;
    readonly tenantHealthTimeoutSeconds: number;
  };
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
  // The drivers' own settings are required only by the services that use them.
  if (service === 'provisioner' && raw.COMPUTE_DRIVER === 'ec2') {
    for (const name of [
      'EC2_REGION',
      'EC2_AMI_ID',
      'EC2_VPC_ID',
      'EC2_SUBNET_ID',
      'EC2_INGRESS_CIDRS',
    ]) {
      if (raw[name] === undefined) problems.push(`${name} is required when COMPUTE_DRIVER=ec2`);
    }
  }
  if (USES_ROUTES.has(service) && raw.ROUTE_PUBLISHER === 'cloudflare') {
    for (const name of [
      'CLOUDFLARE_API_TOKEN',
      'CLOUDFLARE_ACCOUNT_ID',
      'CLOUDFLARE_KV_NAMESPACE_ID',
    ]) {
      if (raw[name] === undefined)
        problems.push(`${name} is required when ROUTE_PUBLISHER=cloudflare`);
    }
  }
  if (parsed.success) problems.push(...edgeRouterProblems(parsed.data));
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
    apiKeyCacheSeconds: e.API_KEY_CACHE_SECONDS,
    baseDomain: e.BASE_DOMAIN,
    edge: edgeRouterConfig(e),
    rateLimit: rateLimitConfig(e),
    computeDriver: e.COMPUTE_DRIVER,
    routePublisher: e.ROUTE_PUBLISHER,
    tenantImage: e.TENANT_IMAGE,
    local: {
      instancesDir: e.LOCAL_INSTANCES_DIR,
      agentCommand: e.LOCAL_AGENT_COMMAND
        ? (JSON.parse(e.LOCAL_AGENT_COMMAND) as string[])
        : undefined,
    },
    ec2:
      e.COMPUTE_DRIVER === 'ec2' && e.EC2_REGION && e.EC2_AMI_ID && e.EC2_VPC_ID && e.EC2_SUBNET_ID
        ? {
            region: e.EC2_REGION,
            amiId: e.EC2_AMI_ID,
            vpcId: e.EC2_VPC_ID,
            subnetId: e.EC2_SUBNET_ID,
            ingressCidrs: (e.EC2_INGRESS_CIDRS ?? '')
              .split(',')
              .map((c) => c.trim())
              .filter(Boolean),
            adminCidr: e.EC2_ADMIN_CIDR,
            instanceTypes: Object.fromEntries(
              e.EC2_INSTANCE_TYPES.split(',').map((pair) => pair.split('=') as [string, string]),
            ),
          }
        : undefined,
    cloudflare:
      e.ROUTE_PUBLISHER === 'cloudflare' &&
      e.CLOUDFLARE_API_TOKEN &&
      e.CLOUDFLARE_ACCOUNT_ID &&
      e.CLOUDFLARE_KV_NAMESPACE_ID
        ? {
            apiToken: new Secret(e.CLOUDFLARE_API_TOKEN),
            accountId: e.CLOUDFLARE_ACCOUNT_ID,
            kvNamespaceId: e.CLOUDFLARE_KV_NAMESPACE_ID,
            baseUrl: e.CLOUDFLARE_BASE_URL,
          }
        : undefined,
    runtimeCatalogPath: e.RUNTIME_CATALOG,
    registry: {
      publicUrl:
        e.REGISTRY_URL ??
        `http://${e.HOST === '0.0.0.0' ? '127.0.0.1' : e.HOST}:${e.REGISTRY_PORT}`,
      heartbeatIntervalSeconds: e.HEARTBEAT_INTERVAL_SECONDS,
      missedBeforeOffline: e.HEARTBEAT_MISSED_BEFORE_OFFLINE,
      sweepIntervalSeconds: e.HEALTH_SWEEP_INTERVAL_SECONDS,
      bootstrapTokenTtlSeconds: e.BOOTSTRAP_TOKEN_TTL_SECONDS,
      degradedErrorRate: e.DEGRADED_ERROR_RATE,
    },
    maxRequestBytes: e.MAX_REQUEST_BYTES,
    a2a: {
      maxResponseBytes: e.A2A_MAX_RESPONSE_BYTES,
      timeoutSeconds: e.A2A_TIMEOUT_SECONDS,
      connectTimeoutSeconds: e.A2A_CONNECT_TIMEOUT_SECONDS,
    },
    events: {
      retentionCount: e.EVENTS_RETENTION_COUNT,
      retentionSeconds: e.EVENTS_RETENTION_SECONDS,
      heartbeatSeconds: e.EVENTS_HEARTBEAT_SECONDS,
    },
    memory: { maxBytes: e.MEMORY_MAX_BYTES },
    reconcile: {
      intervalSeconds: e.RECONCILE_INTERVAL_SECONDS,
      orphanGraceSeconds: e.ORPHAN_GRACE_SECONDS,
      orphanDryRun: e.ORPHAN_DRY_RUN === 'true',
      operationStuckSeconds: e.OPERATION_STUCK_SECONDS,
      tenantHealthTimeoutSeconds: e.TENANT_HEALTH_TIMEOUT_SECONDS,
    },
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
