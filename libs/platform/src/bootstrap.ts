import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError, loadConfig, type AppConfig, type ServiceName } from '@molecule/config';
import { Logger } from '@molecule/logging';
import { MetricsService } from '@molecule/observability';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RouteOptions } from 'fastify';
import type { DestinationStream } from 'pino';

/** The signals a service shuts down gracefully on. */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** How one deployable service is put together. */
export interface ServiceDefinition {
  name: ServiceName;
  module(config: AppConfig, logDestination?: DestinationStream): DynamicModule;
  port(config: AppConfig): number;
  /** Service-specific wiring after the app exists (OpenAPI, dashboards). */
  setup?(app: NestFastifyApplication, config: AppConfig): void | Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Builds and initialises a service without listening (tests call this directly). */
export interface CreateOptions {
  /** Where log lines go instead of stdout (tests capture them). */
  logDestination?: DestinationStream;
  /** Observes every route the HTTP server registers, including plugins' (tests audit them). */
  onRoute?: (route: RouteOptions) => void;
}

export async function createServiceApp(
  service: ServiceDefinition,
  config: AppConfig,
  { logDestination, onRoute }: CreateOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    // The largest body any route accepts; routes that need less validate it themselves.
    bodyLimit: config.maxRequestBytes,
    // One id per request, kept from the caller's X-Request-ID when well-formed, so it can follow
    // the request into logs of other services and into the jobs it enqueues.
    genReqId: (req: IncomingMessage) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
    return503OnClosing: true,
  });
  const fastify = adapter.getInstance();
  if (onRoute) fastify.addHook('onRoute', onRoute);
  fastify.addHook('onRequest', (request, _reply, done) => {
    // pino-http reads the id from the raw request.
    (request.raw as { id?: string }).id = request.id;
    done();
  });

  const app = await NestFactory.create<NestFastifyApplication>(
    service.module(config, logDestination),
    adapter,
    { bufferLogs: true },
  );
  const logger = app.get(Logger);
  app.useLogger(logger);
  // The signals that mean "stop": SIGTERM (orchestrators, `npm start`), SIGINT (Ctrl-C) and SIGHUP
  // (a closed terminal). Nest's default list also takes SIGUSR2, which profilers and reloaders
  // send, and the fault signals (SIGSEGV, SIGBUS, ...) that Node advises against handling in JS.
  app.enableShutdownHooks([...SHUTDOWN_SIGNALS]);

  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });

  await service.setup?.(app, config);
  await app.init();
  return app;
}

/** The `main.ts` of every service: validate config, start, listen, stop cleanly on signals. */
export async function runService(service: ServiceDefinition): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(service.name);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = await createServiceApp(service, config);
  const port = service.port(config);
  await app.listen({ port, host: config.host });
  app.get(Logger).log(`${service.name} listening on http://${config.host}:${port}`, 'Bootstrap');
}
