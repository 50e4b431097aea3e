import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  NotFoundException,
  type OnModuleDestroy,
  ServiceUnavailableException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { loadOrgChart } from '@molecule/access';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { A2aCall, Workspace, WorkspaceStatus } from '@molecule/database';
import { OrgEvents } from '@molecule/events';
import { InjectPinoLogger, PinoLogger } from '@molecule/logging';
import { MetricsService } from '@molecule/observability';
import type { FastifyReply } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { Counter, Histogram } from 'prom-client';
import { In, type DataSource } from 'typeorm';
import { A2aRelay, type RelayResult } from './a2a-relay';
import { RELAYED_METHODS, isRelayedMethod } from './relayed-methods';

/** Who is sending: a workspace (agent → agent, subject to the hierarchy) or a user of the org. */
export interface A2aCaller {
  /** As audit trails name it: `workspace:<id>`, `org-key:<id>`, `platform-admin`. */
  actor: string;
  /** Set for agent → agent calls; the hierarchy rule then decides who may be reached. */
  workspaceId?: string;
}

export interface A2aCallRequest {
  orgId: string;
  caller: A2aCaller;
  targetId: string;
  /** The parsed JSON-RPC request. */
  body: unknown;
  headers: IncomingHttpHeaders;
}

export interface SendOptions {
  /**
   * Answer `{reply: <result>}` instead of the agent's JSON-RPC response as it came (a JSON-RPC
   * error becomes a 502 carrying its code and message). Streams are passed through either way.
   */
  unwrap?: boolean;
}

/** Statuses in which a workspace's agent answers. */
const REACHABLE: readonly WorkspaceStatus[] = [WorkspaceStatus.Online, WorkspaceStatus.Degraded];
/** How long a caller should wait before trying an agent that is not up. */
const RETRY_AFTER_SECONDS = 5;

type Outcome =
  | 'ok'
  | 'not-found'
  | 'denied'
  | 'bad-request'
  | 'over-budget'
  | 'unavailable'
  | 'unreachable'
  | 'timeout'
  | 'too-large'
  | 'aborted';

/** Raised for a refused call after it is recorded; the exception filter answers it. */
class RefusedCall extends Error {
  constructor(
    readonly outcome: Outcome,
    readonly exception: HttpException,
  ) {
    super(exception.message);
  }
}

/**
 * Relays A2A JSON-RPC to a workspace's agent for the registry's proxy (agent → agent) and the
 * API's messages route (user → agent): checks who may reach whom, the target's state and
 * budgets, forwards with limits, streams SSE through unbuffered, and records every call
 * (`a2a_calls`, a metric, an `a2a.call` org event) without its content.
 */
@Injectable()
export class A2aGateway implements OnModuleDestroy {
  private readonly relay: A2aRelay;
  private readonly calls: Counter<'outcome' | 'method'>;
  private readonly duration: Histogram<'outcome'>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly events: OrgEvents,
    metrics: MetricsService,
    @InjectPinoLogger(A2aGateway.name) private readonly logger: PinoLogger,
  ) {
    this.relay = new A2aRelay({
      maxResponseBytes: config.a2a.maxResponseBytes,
      timeoutMs: config.a2a.timeoutSeconds * 1000,
      connectTimeoutMs: config.a2a.connectTimeoutSeconds * 1000,
    });
    this.calls = new Counter({
      name: 'a2a_calls_total',
      help: 'A2A calls relayed to workspaces, by outcome and method',
      labelNames: ['outcome', 'method'] as const,
      registers: [metrics.registry],
    });
    this.duration = new Histogram({
      name: 'a2a_call_duration_seconds',
      help: 'Time from receiving an A2A call to the end of its reply (streams included)',
      labelNames: ['outcome'] as const,
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: [metrics.registry],
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.relay.close();
  }

  /**
   * Relays one call and writes the agent's answer (or the refusal) to `reply`. Resolves when the
   * answer has been handed over; a stream is recorded when it ends.
   */
  async send(
    request: A2aCallRequest,
    reply: FastifyReply,
    options: SendOptions = {},
  ): Promise<void> {
    const started = Date.now();
    const payload = JSON.stringify(request.body ?? null);
    const requestBytes = Buffer.byteLength(payload);
    const method = methodOf(request.body);
    const record = (
      outcome: Outcome,
      httpStatus: number,
      extra: { streamed?: boolean; responseBytes?: number } = {},
    ) => this.record(request, { method, outcome, httpStatus, requestBytes, started, ...extra });

    let result: RelayResult;
    try {
      const target = await this.admit(request, reply);
      const abort = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) abort.abort();
      });
      result = await this.relay.send({
        address: target.address,
        payload,
        headers: request.headers,
        caller: request.caller.actor,
        signal: abort.signal,
      });
    } catch (error) {
      if (error instanceof RefusedCall) {
        await record(error.outcome, error.exception.getStatus());
        throw error.exception;
      }
      if (error instanceof Error && error.name === 'AbortError') {
        await record('aborted', 499);
        return;
      }
      throw error;
    }

    switch (result.kind) {
      case 'failed': {
        const status = result.reason === 'timeout' ? 504 : 502;
        await record(result.reason, status);
        throw new HttpException(result.message, status);
      }
      case 'reply':
        await record('ok', result.status, { responseBytes: result.body.length });
        if (options.unwrap) {
          await reply.status(200).send({ reply: unwrapResult(result.body) });
          return;
        }
        await reply.status(result.status).headers(result.headers).send(result.body);
        return;
      case 'stream':
        // Recorded when the stream ends; the reply is long gone, so a failure is only logged.
        void result.finished
          .then((end) =>
            record(end.failure ?? 'ok', result.status, {
              streamed: true,
              responseBytes: end.bytes,
            }),
          )
          .catch((error: unknown) =>
            this.logger.error({ err: error, targetId: request.targetId }, 'A2A call not recorded'),
          );
        await reply
          .status(result.status)
          .headers({ ...result.headers, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
          .send(result.body);
        return;
    }
  }

  /**
   * The target's agent card as its agent serves it (v1.0 or v0.3 shape, by `A2A-Version`), with
   * every interface pointing at `relayUrl`, so an A2A client built from it talks through the
   * control plane and never learns the agent's own address.
   */
  async agentCard(
    request: Pick<A2aCallRequest, 'orgId' | 'caller' | 'targetId' | 'headers'>,
    relayUrl: string,
    reply: FastifyReply,
  ): Promise<void> {
    let address: string;
    try {
      address = this.reachable((await this.resolve(request)).target, reply).address;
    } catch (error) {
      throw error instanceof RefusedCall ? error.exception : error;
    }
    const result = await this.relay.card(address, request.headers);
    if (result.kind === 'failed') {
      throw new HttpException(result.message, result.reason === 'timeout' ? 504 : 502);
    }
    if (result.kind !== 'reply' || result.status !== 200) {
      throw new HttpException('The agent did not serve its card', 502);
    }
    let card: unknown;
    try {
      card = JSON.parse(result.body.toString('utf8'));
    } catch {
      throw new HttpException('The agent served a card that is not JSON', 502);
    }
    await reply
      .status(200)
      .headers({ ...result.headers, 'content-type': 'application/json', vary: 'A2A-Version' })
      .send(pointCardAt(card, relayUrl));
  }

  /**
   * Finds the target and checks that the caller may reach it. A target outside the caller's org
   * is "not found", whoever asks: no oracle for other orgs' ids.
   */
  private async resolve(
    request: Pick<A2aCallRequest, 'orgId' | 'caller' | 'targetId'>,
  ): Promise<{ target: Workspace; caller?: Workspace }> {
    const { caller, orgId, targetId } = request;
    if (caller.workspaceId) {
      const chart = await loadOrgChart(this.dataSource, orgId);
      const node = chart.get(targetId);
      if (!node || node.deleted) throw refused('not-found', notFound(targetId));
      if (!chart.canCommunicate(caller.workspaceId, targetId)) {
        throw refused(
          'denied',
          new ForbiddenException(
            `Workspace ${caller.workspaceId} may not message workspace ${targetId}: only itself, ` +
              'its siblings, ancestors and descendants',
          ),
        );
      }
    }
    const ids = caller.workspaceId ? [targetId, caller.workspaceId] : [targetId];
    const rows = await this.dataSource
      .getRepository(Workspace)
      .findBy({ id: In([...new Set(ids)]), orgId });
    const target = rows.find((row) => row.id === targetId);
    if (!target || target.status === WorkspaceStatus.Deleted) {
      throw refused('not-found', notFound(targetId));
    }
    return { target, caller: rows.find((row) => row.id === caller.workspaceId) };
  }

  /** Everything a call must pass before it reaches the agent; returns where the agent is. */
  private async admit(request: A2aCallRequest, reply: FastifyReply): Promise<{ address: string }> {
    const { target, caller } = await this.resolve(request);
    checkJsonRpc(request.body);
    for (const row of caller && caller !== target ? [caller, target] : [target]) {
      if (overBudget(row)) {
        const whose = row === target ? 'The target workspace' : 'The calling workspace';
        throw refused(
          'over-budget',
          new HttpException(
            `${whose} ${row.id} is over its budget (${row.spentCents} of ${row.budgetCents} cents)`,
            HttpStatus.PAYMENT_REQUIRED,
          ),
        );
      }
    }
    return this.reachable(target, reply);
  }

  private reachable(target: Workspace, reply: FastifyReply): { address: string } {
    if (!REACHABLE.includes(target.status) || !target.address) {
      void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      throw refused(
        'unavailable',
        new ServiceUnavailableException(
          `Workspace ${target.id} is ${target.status}; its agent is not answering`,
        ),
      );
    }
    return { address: target.address };
  }

  private async record(
    request: A2aCallRequest,
    call: {
      method: string;
      outcome: Outcome;
      httpStatus: number;
      requestBytes: number;
      started: number;
      streamed?: boolean;
      responseBytes?: number;
    },
  ): Promise<void> {
    const durationMs = Date.now() - call.started;
    this.calls.inc({
      outcome: call.outcome,
      method: isRelayedMethod(call.method) ? call.method : 'other',
    });
    this.duration.observe({ outcome: call.outcome }, durationMs / 1000);
    await this.dataSource.getRepository(A2aCall).insert({
      orgId: request.orgId,
      caller: request.caller.actor,
      callerWorkspaceId: request.caller.workspaceId ?? null,
      targetWorkspaceId: request.targetId,
      method: call.method,
      outcome: call.outcome,
      httpStatus: call.httpStatus,
      streamed: call.streamed ?? false,
      requestBytes: call.requestBytes,
      responseBytes: call.responseBytes ?? 0,
      durationMs,
    });
    await this.events.publish(request.orgId, 'a2a.call', {
      callerId: request.caller.workspaceId ?? request.caller.actor,
      targetId: request.targetId,
      method: call.method,
      status: call.httpStatus,
      outcome: call.outcome,
      durationMs,
    });
  }
}

function refused(outcome: Outcome, exception: HttpException): RefusedCall {
  return new RefusedCall(outcome, exception);
}

function notFound(targetId: string): NotFoundException {
  return new NotFoundException(`No workspace ${targetId} in this org`);
}

function overBudget(workspace: Workspace): boolean {
  return (
    workspace.budgetCents !== null && BigInt(workspace.spentCents) >= BigInt(workspace.budgetCents)
  );
}

/** Rewrites the card's interface URLs (v1.0 `supportedInterfaces`, v0.3 `url` and friends). */
export function pointCardAt(card: unknown, url: string): unknown {
  if (typeof card !== 'object' || card === null || Array.isArray(card)) return card;
  const copy: Record<string, unknown> = { ...(card as Record<string, unknown>) };
  if (typeof copy.url === 'string') copy.url = url;
  for (const key of ['supportedInterfaces', 'additionalInterfaces']) {
    const list = copy[key];
    if (Array.isArray(list)) {
      copy[key] = list.map((entry: unknown) =>
        typeof entry === 'object' && entry !== null ? { ...entry, url } : entry,
      );
    }
  }
  return copy;
}

/** The `result` of a JSON-RPC response, or a 502 saying what the agent answered instead. */
function unwrapResult(body: Buffer): unknown {
  let parsed: { result?: unknown; error?: { code?: unknown; message?: unknown } };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    throw new HttpException('The agent answered something that is not JSON-RPC', 502);
  }
  if (parsed.error !== undefined || parsed.result === undefined) {
    throw new HttpException(
      {
        message: 'The agent answered with an error',
        details: {
          code: typeof parsed.error?.code === 'number' ? parsed.error.code : null,
          message: typeof parsed.error?.message === 'string' ? parsed.error.message : null,
        },
      },
      502,
    );
  }
  return parsed.result;
}

function checkJsonRpc(body: unknown): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw refused('bad-request', new BadRequestException('Expected one JSON-RPC request object'));
  }
  const rpc = body as Record<string, unknown>;
  if (rpc.jsonrpc !== '2.0' || typeof rpc.method !== 'string') {
    throw refused(
      'bad-request',
      new BadRequestException('Expected a JSON-RPC 2.0 request with a method'),
    );
  }
  if (!isRelayedMethod(rpc.method)) {
    throw refused(
      'bad-request',
      new BadRequestException(
        `Method ${JSON.stringify(rpc.method).slice(0, 80)} is not relayed; relayed methods: ` +
          RELAYED_METHODS.join(', '),
      ),
    );
  }
}

function methodOf(body: unknown): string {
  const method = (body as { method?: unknown } | null)?.method;
  return typeof method === 'string' && method.length <= 100 ? method : 'unknown';
}
