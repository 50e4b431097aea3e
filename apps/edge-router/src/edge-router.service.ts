import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { CredentialsService } from '@molecule/auth';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { EnvelopeCipher } from '@molecule/crypto';
import { ApiKey, ApiKeyKind, Org, OrgStatus } from '@molecule/database';
import { InjectPinoLogger, PinoLogger } from '@molecule/logging';
import { MetricsService } from '@molecule/observability';
import {
  RedisRoutePublisher,
  RouteInvalidations,
  type RouteInvalidationSubscription,
} from '@molecule/routes';
import { Redis } from 'ioredis';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { In, type DataSource } from 'typeorm';
import { EDGE_ROUTER_OPTIONS, type ResolvedEdgeRouterOptions } from './edge-router.options';
import { EdgeMetrics } from './metrics/edge-metrics';
import { EdgePages } from './pages/edge-pages';
import { EdgeProxy } from './proxy/edge-proxy';
import { UpstreamPools } from './proxy/upstream-pools';
import { RouteResolver } from './routing/route-resolver';
import { tenantHostParser } from './routing/tenant-host.parser';
import { KeyLiveness } from './visitor-auth/key-liveness';
import { OrgSessions } from './visitor-auth/org-sessions';
import { SessionEndpoints } from './visitor-auth/session-endpoints';
import { VisitorAuthenticator } from './visitor-auth/visitor-authenticator';

const RESUBSCRIBE_DELAY_MS = 1_000;

/**
 * Puts the proxy in front of Nest on the service's own HTTP server (one port). The Fastify
 * server's `request` listener is replaced by a dispatcher: a request whose Host is a tenant host
 * (`<slug>.<BASE_DOMAIN>`, `<slug>.localhost`) goes to the raw proxy and never enters Fastify or
 * Nest; any other Host (the router's IP, its bare name) goes to Fastify as before, which serves
 * `/healthz`, `/readyz` and `/metrics` with the usual auth guard and logging. So ops routes cost
 * the tenant hot path one Host check, and tenants cannot reach ops routes (nor the reverse).
 * Tenant requests are not access-logged line by line (that would cost more than the proxying);
 * they are counted in `/metrics`, and failures are logged.
 */
@Injectable()
export class EdgeRouterService implements OnModuleInit, BeforeApplicationShutdown {
  private proxy!: EdgeProxy;
  private resolver!: RouteResolver;
  private routeRedis!: Redis;
  private subscription: RouteInvalidationSubscription | undefined;
  private subscribing: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(EDGE_ROUTER_OPTIONS) private readonly options: ResolvedEdgeRouterOptions,
    private readonly adapterHost: HttpAdapterHost,
    private readonly credentials: CredentialsService,
    private readonly cipher: EnvelopeCipher,
    private readonly moduleRef: ModuleRef,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectPinoLogger(EdgeRouterService.name) private readonly logger: PinoLogger,
  ) {}

  async onModuleInit(): Promise<void> {
    // CoreModule does not export ObservabilityModule, so its registry is looked up globally.
    const registry = this.moduleRef.get(MetricsService, { strict: false }).registry;
    const metrics = new EdgeMetrics(registry);
    // Its own connection: no offline queue and a short timeout, so a dead Redis fails a lookup at
    // once (and a known route is served stale) instead of holding requests in a queue.
    this.routeRedis = new Redis(this.config.redis.url.reveal(), {
      connectionName: 'molecule-edge-routes',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.options.routeCache.redisTimeoutMs,
    });
    this.routeRedis.on('error', () => undefined); // counted per lookup; reconnects by itself
    const pools = new UpstreamPools(this.options.upstream);
    const orgs = this.dataSource.getRepository(Org);
    this.resolver = new RouteResolver(
      {
        source: new RedisRoutePublisher(this.routeRedis, this.config.redis.prefix),
        decryptCredential: (orgId, ciphertext) => this.cipher.decryptString(orgId, ciphertext),
        orgProvisioning: async (slug) =>
          (await orgs.count({
            where: { slug, status: In([OrgStatus.Pending, OrgStatus.Provisioning]) },
          })) > 0,
        pools,
        metrics,
        onError: (what, error) => this.logger.warn({ err: errorSummary(error) }, what),
      },
      this.options.routeCache,
    );
    const keys = this.dataSource.getRepository(ApiKey);
    const liveness = new KeyLiveness(
      async (keyId) =>
        await keys
          .createQueryBuilder('k')
          .innerJoin('k.org', 'o')
          .where('k.id = :keyId AND k.kind = :kind AND k.revoked_at IS NULL', {
            keyId,
            kind: ApiKeyKind.Org,
          })
          .andWhere('(k.expires_at IS NULL OR k.expires_at > now())')
          .andWhere('o.status <> :deleted', { deleted: OrgStatus.Deleted })
          .getExists(),
      this.options.visitorAuth,
    );
    // Sessions use the route connection too: a dead Redis fails a check at once (503).
    const sessions = new OrgSessions(
      this.routeRedis,
      this.config.redis.prefix,
      liveness,
      this.options.sessions.ttlSeconds,
    );
    const visitors = new VisitorAuthenticator(
      (token) => this.credentials.authenticate(token),
      this.options.visitorAuth,
      metrics,
      sessions,
    );
    const pages = new EdgePages(this.options.retryAfterSeconds);
    const warn = (fields: Record<string, unknown>, message: string) =>
      this.logger.warn(fields, message);
    this.proxy = new EdgeProxy({
      parseHost: tenantHostParser(this.config.baseDomain),
      routes: this.resolver,
      visitors,
      sessions: new SessionEndpoints(sessions, pages, metrics, warn),
      pools,
      pages,
      metrics,
      options: this.options,
      warn,
    });
    this.attach(this.adapterHost.httpAdapter.getHttpServer() as Server);
    await this.waitForRedis();
    this.subscribe();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.subscribing);
    await Promise.all([
      this.proxy.close(),
      this.subscription?.close(),
      this.routeRedis.quit().catch(() => this.routeRedis.disconnect()),
    ]);
  }

  private attach(server: Server): void {
    const fallbacks = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    const proxy = this.proxy;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!proxy.handleRequest(req, res)) {
        for (const listener of fallbacks) listener.call(server, req, res);
      }
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // The router's own host has no WebSocket routes.
      if (!proxy.handleUpgrade(req, socket, head)) {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      }
    });
    const limits = this.options.limits;
    server.headersTimeout = limits.requestHeadersTimeoutMs;
    server.requestTimeout = limits.requestTimeoutMs;
  }

  /** Up to 2 s for the first connection; the router starts anyway (and answers 503) without it. */
  private async waitForRedis(): Promise<void> {
    if (this.routeRedis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      this.routeRedis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Invalidations. Until the subscription is active, changes are only seen when entries expire;
   * once it is (first time or after a failure), every cached entry is re-checked, because changes
   * may have been announced while nobody listened.
   */
  private subscribe(): void {
    RouteInvalidations.subscribe(
      this.config.redis.url.reveal(),
      this.config.redis.prefix,
      (slug, generation) => this.resolver.invalidate(slug, generation),
      {
        onReconnect: () => this.resolver.invalidateAll(),
        onError: (error) => this.logger.debug({ err: errorSummary(error) }, 'route invalidations'),
      },
    ).then(
      (subscription) => {
        if (this.stopped) {
          void subscription.close();
          return;
        }
        this.subscription = subscription;
        this.resolver.invalidateAll();
      },
      (error: unknown) => {
        if (this.stopped) return;
        this.logger.warn({ err: errorSummary(error) }, 'route invalidations unavailable, retrying');
        this.subscribing = setTimeout(() => this.subscribe(), RESUBSCRIBE_DELAY_MS);
      },
    );
  }
}

/** Name, message and code only: route errors never carry secrets, but stacks add nothing here. */
function errorSummary(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  return { name: error.name, message: error.message, code: (error as { code?: string }).code };
}
