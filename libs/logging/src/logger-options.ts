import { RequestMethod } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AppConfig } from '@molecule/config';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';

/**
 * Paths pino censors wherever they appear in a log line: credentials in request headers and any
 * field named like a secret, at the top level or one or two levels down.
 */
const SENSITIVE_FIELDS = [
  'authorization',
  'cookie',
  'token',
  'accessToken',
  'adminToken',
  'apiKey',
  'secret',
  'password',
  'masterKey',
  'bootstrapToken',
  'sessionToken',
];
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-molecule-tenant-token"]',
  'res.headers["set-cookie"]',
  ...SENSITIVE_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

/** Requests that would drown the log: probes and scrapes. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A route by path and method, as Nest's middleware configuration names it. */
export interface RouteRef {
  path: string;
  method: RequestMethod;
}

/**
 * `unlogged` routes are left out of request logging altogether: pino-http's middleware, which
 * builds a redacted child logger for every request (even one it then does not log), does not run
 * for them. For hot routes served outside Nest that log their own failures.
 *
 * `'all'` mounts no request logging at all, for a service whose traffic never enters Nest (the
 * edge router): nestjs-pino keeps each request's logger in an `AsyncLocalStorage`, and on Node 20
 * the first `run` of one installs async hooks for good, which then cost every request the process
 * serves, inside Nest or not (measured: ~30 % of the router's throughput, after one `/healthz`).
 */
export function loggerOptions(
  config: AppConfig,
  destination?: DestinationStream,
  unlogged: RouteRef[] | 'all' = [],
): Params {
  return {
    pinoHttp: {
      level: config.log.level,
      base: { service: config.service, version: config.version },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // A caller-provided request id is kept (so one id follows a request across services and
      // into the jobs it enqueues); anything else gets a fresh one.
      genReqId: (req: IncomingMessage) => {
        const header = req.headers['x-request-id'];
        return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
      },
      autoLogging: {
        // Middleware mounted on a wildcard sees `req.url` cut down; `originalUrl` is the full path.
        ignore: (req: IncomingMessage & { originalUrl?: string }) =>
          QUIET_PATHS.has((req.originalUrl ?? req.url ?? '').split('?')[0]),
      },
      transport:
        config.log.pretty && !destination
          ? { target: 'pino-pretty', options: { singleLine: true } }
          : undefined,
      stream: destination,
    },
    // nestjs-pino's default route pattern matches only `/` under Fastify's middie; log every route.
    forRoutes: unlogged === 'all' ? [] : [{ path: '*', method: RequestMethod.ALL }],
    exclude: unlogged !== 'all' && unlogged.length > 0 ? unlogged : undefined,
  };
}
