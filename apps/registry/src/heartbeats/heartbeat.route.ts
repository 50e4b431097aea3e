import { ForbiddenException, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuthGuard, type AuthRequirement } from '@molecule/auth';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { InjectPinoLogger, PinoLogger } from '@molecule/logging';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HeartbeatStore } from './heartbeat.store';
import { HeartbeatValidation } from './heartbeat.validation';

export const HEARTBEAT_PATH = '/registry/heartbeat';

/**
 * Who may beat: a workspace's session token. The hot path: a session verified in the last minute
 * is not looked up again, so a beat costs no Postgres round trip. Revocation reaches this route
 * within that minute; registration and everything else always check the database, and a flush
 * never revives a deleted workspace.
 */
export const HEARTBEAT_AUTH: readonly AuthRequirement[] = [
  { kind: 'workspace-token', cacheSeconds: 60 },
];

/**
 * `POST /registry/heartbeat`, served by Fastify directly rather than through Nest's pipeline:
 * every workspace calls it every interval, and Nest's per-request work (guards, the validation
 * pipe's class-transformer pass, the request logger) cost about three times what the beat itself
 * does (docs/benchmarks.md). It keeps the route's contract: the global auth guard's decision for
 * {@link HEARTBEAT_AUTH}, the global validation pipe's rules and 400s for `HeartbeatDto`, errors
 * through the global exception filter (Nest installs it as Fastify's error handler), and the same
 * answer. What it leaves out: rate limiting, as before (counting would add a Redis round trip to
 * every beat), and a request log line for each accepted beat; failures are logged with their
 * request id.
 */
@Injectable()
export class HeartbeatRoute implements OnModuleInit {
  private readonly validation = new HeartbeatValidation();
  /** The answer never changes while the process runs. */
  private readonly answer: string;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: AuthGuard,
    private readonly store: HeartbeatStore,
    @Inject(APP_CONFIG) config: AppConfig,
    @InjectPinoLogger(HeartbeatRoute.name) private readonly log: PinoLogger,
  ) {
    this.answer = JSON.stringify({
      nextIntervalSeconds: config.registry.heartbeatIntervalSeconds,
    });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.route({
      method: 'POST',
      url: HEARTBEAT_PATH,
      // Read by the route audit (test/integration/route-auth.int-spec.ts), like Nest routes'
      // auth decorators.
      config: { auth: HEARTBEAT_AUTH },
      handler: (request, reply) => this.beat(request, reply),
      onResponse: (request, reply, done) => {
        if (reply.statusCode >= 400) this.logFailure(request, reply);
        done();
      },
    });
  }

  private async beat(request: FastifyRequest, reply: FastifyReply): Promise<string> {
    const principal = await this.auth.authorize(HEARTBEAT_AUTH, { headers: request.headers });
    // authorize() admits only what HEARTBEAT_AUTH declares; this narrows the type.
    if (principal?.kind !== 'workspace-token') {
      throw new ForbiddenException('The credential does not grant access to this resource');
    }
    const beat = await this.validation.parse(request.body);
    await this.store.record(principal.workspaceId, beat);
    void reply.type('application/json; charset=utf-8');
    return this.answer;
  }

  /**
   * The line pino-http writes for other routes, through the same serializers and redaction (the
   * `Authorization` header is censored).
   */
  private logFailure(request: FastifyRequest, reply: FastifyReply): void {
    const line = { req: request.raw, res: reply.raw, responseTime: Math.round(reply.elapsedTime) };
    if (reply.statusCode >= 500) this.log.error(line, 'request errored');
    else this.log.info(line, 'request completed');
  }
}
