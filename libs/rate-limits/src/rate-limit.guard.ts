import {
  type ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { AUTH_METADATA, type AuthRequirement, type Principal } from '@molecule/auth';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { InjectPinoLogger, PinoLogger } from '@molecule/logging';
import { MetricsService } from '@molecule/observability';
import { redisKey } from '@molecule/redis';
import type { FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import { clientAddress, principalTracker } from './client-key';
import { RATE_LIMIT_POLICY, type RateLimitPolicy } from './rate-limit.decorators';
import { policyLimit, routePolicy } from './rate-limit.policy';

type LimitedRequest = FastifyRequest & { principal?: Principal };

/** At most one "store unavailable" log line per this many ms; the metric counts every one. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * The global rate limit guard: `@nestjs/throttler`'s guard on a Redis counter shared by every
 * replica. It is registered after the auth guard, so an authenticated request counts against
 * its principal, an anonymous one against its address. Over the limit: 429 in the error
 * envelope with `Retry-After`. When Redis cannot count, the request goes through (fail open),
 * logged and counted: a Redis outage must not take the API down with it.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly policy: (context: ExecutionContext) => RateLimitPolicy;
  private readonly limited: Counter<'method' | 'route' | 'policy'>;
  private readonly storeFailures: Counter;
  private lastFailureLogAt = 0;
  private failuresSinceLog = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    // The base class's injection tokens are inherited: the storage is the module's, by token.
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    metrics: MetricsService,
    @InjectPinoLogger(RateLimitGuard.name) private readonly log: PinoLogger,
  ) {
    const policy = policyResolver(reflector);
    super(
      {
        throttlers: [
          {
            // The unnamed throttler, so headers keep their standard names (Retry-After, ...).
            name: 'default',
            ttl: config.rateLimit.windowSeconds * 1000,
            limit: (context) => policyLimit(policy(context), config.rateLimit),
          },
        ],
      },
      storage,
      reflector,
    );
    this.policy = policy;
    this.limited = new Counter({
      name: 'rate_limited_requests_total',
      help: 'Requests refused with 429 by the rate limiter, by route and policy',
      labelNames: ['method', 'route', 'policy'] as const,
      registers: [metrics.registry],
    });
    this.storeFailures = new Counter({
      name: 'rate_limit_store_failures_total',
      help: 'Requests let through uncounted because Redis could not count them (fail open)',
      registers: [metrics.registry],
    });
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return context.getType() !== 'http' || this.policy(context) === 'exempt';
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const request = req as unknown as LimitedRequest;
    if (request.principal) return principalTracker(request.principal);
    return `ip:${clientAddress(request.ip, request.headers['x-forwarded-for'], this.config.rateLimit.trustProxyHops)}`;
  }

  /**
   * `default` is one bucket per client across routes; the stricter policies count per route, so
   * a burst of registrations does not also use up a workspace's everyday allowance.
   */
  protected override generateKey(context: ExecutionContext, tracker: string): string {
    const policy = this.policy(context);
    if (policy === 'default') return redisKey(this.config, 'rate-limit', policy, tracker);
    const request = context.switchToHttp().getRequest<LimitedRequest>();
    return redisKey(
      this.config,
      'rate-limit',
      policy,
      request.method,
      request.routeOptions?.url ?? 'unmatched',
      tracker,
    );
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(props);
    } catch (error) {
      if (error instanceof HttpException) throw error;
      this.failedOpen(error);
      return true;
    }
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const request = context.switchToHttp().getRequest<LimitedRequest>();
    const policy = this.policy(context);
    this.limited.inc({
      method: request.method,
      route: request.routeOptions?.url ?? 'unmatched',
      policy,
    });
    const seconds = detail.timeToBlockExpire;
    throw new HttpException(
      {
        code: 'too_many_requests',
        message: `Too many requests: retry in ${seconds} s`,
        details: { retryAfterSeconds: seconds, limit: detail.limit, policy },
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }

  private failedOpen(error: unknown): void {
    this.storeFailures.inc();
    this.failuresSinceLog += 1;
    const now = Date.now();
    if (now - this.lastFailureLogAt < FAILURE_LOG_INTERVAL_MS) return;
    this.log.warn(
      {
        err: error instanceof Error ? error.message : String(error),
        requestsLetThrough: this.failuresSinceLog,
      },
      'rate limit store unavailable: requests pass uncounted',
    );
    this.lastFailureLogAt = now;
    this.failuresSinceLog = 0;
  }
}

/** A route's policy, worked out once per handler: it depends on the handler's metadata only. */
function policyResolver(reflector: Reflector): (context: ExecutionContext) => RateLimitPolicy {
  const policies = new Map<object, RateLimitPolicy>();
  return (context) => {
    const handler = context.getHandler();
    let policy = policies.get(handler);
    if (policy === undefined) {
      const targets = [handler, context.getClass()];
      policy = routePolicy(
        context.switchToHttp().getRequest<LimitedRequest>().routeOptions?.url,
        reflector.getAllAndOverride<RateLimitPolicy | undefined>(RATE_LIMIT_POLICY, targets),
        reflector.getAllAndMerge<AuthRequirement[]>(AUTH_METADATA, targets),
      );
      policies.set(handler, policy);
    }
    return policy;
  };
}
