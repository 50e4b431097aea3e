import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Transform, type Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ResolvedEdgeRouterOptions } from '../edge-router.options';
import {
  NO_TENANT,
  type EdgeMetrics,
  type TenantMetrics,
  type UpstreamErrorReason,
} from '../metrics/edge-metrics';
import type { EdgePage, EdgePages } from '../pages/edge-pages';
import { INVALID_TENANT } from '../routing/tenant-host.parser';
import type { ActiveRoute, RouteLookup, RouteResolver } from '../routing/route-resolver';
import type {
  Visitor,
  VisitorAuthenticator,
  VisitorDecision,
} from '../visitor-auth/visitor-authenticator';
import { clientResponseHeaders, upstreamRequestHeaders } from './header-rewrite';
import { UpstreamCertificateError, type UpstreamPools } from './upstream-pools';

export interface EdgeProxyDeps {
  /** `undefined`: not a tenant host; `''`: under a tenant domain but not a slug. */
  parseHost(host: string | undefined): string | undefined;
  routes: RouteResolver;
  visitors: VisitorAuthenticator;
  pools: UpstreamPools;
  pages: EdgePages;
  metrics: EdgeMetrics;
  options: ResolvedEdgeRouterOptions;
  /** Never receives secrets: messages and error codes only. */
  warn(fields: Record<string, unknown>, message: string): void;
}

class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
}

class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

/** What a failed upstream exchange becomes for the visitor and in the metrics. */
function classify(error: Error): { page: EdgePage; reason: UpstreamErrorReason | undefined } {
  if (error instanceof PayloadTooLargeError)
    return { page: 'payload_too_large', reason: undefined };
  if (error instanceof ClientGoneError) return { page: 'bad_gateway', reason: undefined };
  if (error instanceof UpstreamCertificateError) {
    return { page: 'bad_gateway', reason: 'certificate' };
  }
  if (error instanceof ResponseTooLargeError) {
    return { page: 'bad_gateway', reason: 'response_too_large' };
  }
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return { page: 'gateway_timeout', reason: 'timeout' };
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { page: 'bad_gateway', reason: 'connect' };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return { page: 'bad_gateway', reason: 'reset' };
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return { page: 'bad_request', reason: undefined };
    default:
      return { page: 'bad_gateway', reason: 'other' };
  }
}

/**
 * The proxy core: a plain `node:http` request handler in front of `undici` pools. Tenant requests
 * never touch Nest or Fastify (measured: Nest costs ~35 % on a minimal route, Fastify's routing and
 * hooks more on a proxy); the hot path for a cached route and a cached key is synchronous and
 * writes upstream headers straight from undici's callbacks, without intermediate streams.
 */
export class EdgeProxy {
  private closing = false;
  private readonly tunnels = new Set<Duplex>();
  private readonly noTenant: TenantMetrics;

  constructor(private readonly deps: EdgeProxyDeps) {
    this.noTenant = deps.metrics.tenant(NO_TENANT);
  }

  /** Handles the request if its Host is a tenant host; returns false to leave it to Nest. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const slug = this.deps.parseHost(req.headers.host);
    if (slug === undefined) return false;
    const startedAt = performance.now();
    if (slug === INVALID_TENANT) {
      this.page(req, res, 'not_found', this.noTenant, startedAt);
    } else if (this.closing) {
      this.page(req, res, 'service_unavailable', this.noTenant, startedAt, true);
    } else if (req.url === undefined || req.url.charCodeAt(0) !== 0x2f /* / */) {
      // Absolute-form and `*` targets are for forward proxies; this is not one.
      this.page(req, res, 'bad_request', this.noTenant, startedAt);
    } else {
      const lookup = this.deps.routes.resolve(slug);
      if (lookup instanceof Promise) {
        lookup.then(
          (found) => this.withRoute(req, res, found, startedAt),
          () => this.page(req, res, 'service_unavailable', this.noTenant, startedAt),
        );
      } else {
        this.withRoute(req, res, lookup, startedAt);
      }
    }
    return true;
  }

  /** Handles a WebSocket upgrade for a tenant host; returns false for the router's own host. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const slug = this.deps.parseHost(req.headers.host);
    if (slug === undefined) return false;
    socket.on('error', () => socket.destroy());
    const startedAt = performance.now();
    const refuse = (page: EdgePage, metrics = this.noTenant) => {
      metrics.answered(this.deps.pages.writeRaw(req, socket, page), startedAt);
    };
    if (slug === INVALID_TENANT) return (refuse('not_found'), true);
    if (this.closing) return (refuse('service_unavailable'), true);
    if (
      req.method !== 'GET' ||
      req.url?.charCodeAt(0) !== 0x2f ||
      req.headers.upgrade?.toLowerCase() !== 'websocket'
    ) {
      return (refuse('bad_request'), true);
    }
    void (async () => {
      const lookup = await this.deps.routes.resolve(slug);
      if (lookup.kind !== 'running') return refuse(this.pageFor(lookup), lookup.metrics);
      const decision = await this.deps.visitors.check(req.headers, lookup.orgId);
      if (decision.kind !== 'allowed') return refuse(deniedPage(decision), lookup.metrics);
      this.tunnel(req, socket, head, lookup, decision.visitor, startedAt);
    })().catch(() => refuse('service_unavailable'));
    return true;
  }

  /** Stops taking requests; in-flight ones get `shutdownGraceMs`, tunnels are cut at once. */
  async close(): Promise<void> {
    this.closing = true;
    for (const socket of this.tunnels) socket.destroy();
    this.tunnels.clear();
    await this.deps.pools.close(this.deps.options.shutdownGraceMs);
  }

  private withRoute(
    req: IncomingMessage,
    res: ServerResponse,
    lookup: RouteLookup,
    startedAt: number,
  ): void {
    if (lookup.kind !== 'running') {
      this.page(req, res, this.pageFor(lookup), lookup.metrics, startedAt);
      return;
    }
    const decision = this.deps.visitors.check(req.headers, lookup.orgId);
    if (decision instanceof Promise) {
      decision.then(
        (decided) => this.authorized(req, res, lookup, decided, startedAt),
        () => this.page(req, res, 'service_unavailable', lookup.metrics, startedAt),
      );
    } else {
      this.authorized(req, res, lookup, decision, startedAt);
    }
  }

  private authorized(
    req: IncomingMessage,
    res: ServerResponse,
    route: ActiveRoute,
    decision: VisitorDecision,
    startedAt: number,
  ): void {
    if (decision.kind !== 'allowed') {
      this.page(req, res, deniedPage(decision), route.metrics, startedAt);
      return;
    }
    if (res.destroyed) return;
    const limits = this.deps.options.limits;
    let body: IncomingMessage | Transform | null = null;
    const length = req.headers['content-length'];
    if (length !== undefined) {
      const bytes = Number(length);
      if (bytes > limits.maxRequestBodyBytes) {
        // Closing saves reading (and discarding) a body we refused.
        this.page(req, res, 'payload_too_large', route.metrics, startedAt, true);
        return;
      }
      if (bytes > 0) body = req;
    } else if (req.headers['transfer-encoding'] !== undefined) {
      body = limitedBody(req, limits.maxRequestBodyBytes);
    }
    const headers = upstreamRequestHeaders(req, route, decision.visitor, this.deps.options);
    let upstream = route.upstream;
    if (upstream.retired) upstream = route.upstream = this.deps.pools.get(route.target);
    upstream.lastUsed = Date.now();
    const handler = new ProxyHandler(this, req, res, route, startedAt);
    upstream.pool.dispatch(
      { path: req.url!, method: req.method as Dispatcher.HttpMethod, headers, body },
      handler,
    );
  }

  private tunnel(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    route: ActiveRoute,
    visitor: Visitor,
    startedAt: number,
  ): void {
    const headers = upstreamRequestHeaders(req, route, visitor, this.deps.options);
    let upstream = route.upstream;
    if (upstream.retired) upstream = route.upstream = this.deps.pools.get(route.target);
    upstream.lastUsed = Date.now();
    upstream.pool.dispatch(
      { path: req.url!, method: 'GET', headers, body: null, upgrade: 'websocket' },
      new UpgradeHandler(this, req, socket, head, route, startedAt),
    );
  }

  /** @internal Used by the handlers. */
  page(
    req: IncomingMessage,
    res: ServerResponse,
    page: EdgePage,
    metrics: TenantMetrics,
    startedAt: number,
    close = false,
  ): void {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    metrics.answered(this.deps.pages.send(req, res, page, close || this.closing), startedAt);
  }

  /** @internal */
  failed(route: ActiveRoute, error: Error): EdgePage {
    const { page, reason } = classify(error);
    if (reason !== undefined) {
      route.metrics.upstreamError(reason);
      this.deps.warn(
        { tenant: route.slug, reason, code: (error as { code?: string }).code },
        'upstream request failed',
      );
    }
    return page;
  }

  /** @internal */
  get responseLimit(): number {
    return this.deps.options.limits.maxResponseBodyBytes;
  }

  /** @internal */
  pagesFor(): EdgePages {
    return this.deps.pages;
  }

  /** @internal */
  track(socket: Duplex): void {
    this.tunnels.add(socket);
  }

  /** @internal */
  untrack(socket: Duplex): void {
    this.tunnels.delete(socket);
  }

  private pageFor(lookup: Exclude<RouteLookup, ActiveRoute>): EdgePage {
    switch (lookup.kind) {
      case 'missing':
        return 'not_found';
      case 'provisioning':
        return 'provisioning';
      case 'unavailable':
        return lookup.status === 502 ? 'bad_gateway' : 'service_unavailable';
    }
  }
}

function deniedPage(decision: Exclude<VisitorDecision, { kind: 'allowed' }>): EdgePage {
  switch (decision.kind) {
    case 'missing':
    case 'rejected':
      return 'unauthorized';
    case 'forbidden':
      return 'forbidden';
    case 'unavailable':
      return 'service_unavailable';
  }
}

/** A chunked request body, cut off with 413 once it passes the limit. */
function limitedBody(req: IncomingMessage, max: number): Transform {
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      if (total > max) callback(new PayloadTooLargeError('request body too large'));
      else callback(null, chunk);
    },
  });
  req.on('error', (error) => counter.destroy(error));
  req.pipe(counter);
  return counter;
}

/**
 * One proxied exchange, on undici's low-level handler interface: response headers are rewritten
 * and written as soon as they arrive, body chunks go straight to the client socket with
 * backpressure in both directions, and nothing is buffered (SSE and chunked responses stream).
 */
class ProxyHandler implements Dispatcher.DispatchHandler {
  private abort: ((error?: Error) => void) | undefined;
  private status = 0;
  private bytes = 0;
  private limit: number;
  private done = false;
  /** Body bytes still expected by Content-Length, or -1 when the length is unknown. */
  private remaining = -1;
  private ended = false;
  private resume: (() => void) | undefined;
  private readonly onDrain = () => this.resume?.();

  constructor(
    private readonly proxy: EdgeProxy,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly route: ActiveRoute,
    private readonly startedAt: number,
  ) {
    this.limit = proxy.responseLimit;
    res.once('close', () => {
      if (!this.done && !this.ended) {
        // The client went away: stop the upstream exchange instead of reading it for nobody.
        this.done = true;
        this.route.metrics.answered(499, this.startedAt);
        this.abort?.(new ClientGoneError('client closed the connection'));
      }
    });
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abort = abort;
    if (this.done) abort(new ClientGoneError('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim responses (103 Early Hints) are not passed on; the final one follows.
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.resume = resume;
    const headers: string[] = [];
    const { eventStream, contentLength } = clientResponseHeaders(
      rawHeaders,
      this.route.token,
      headers,
    );
    if (eventStream) this.limit = 0;
    if (this.limit > 0 && contentLength > this.limit) {
      this.abort?.(new ResponseTooLargeError('response body too large'));
      return false;
    }
    try {
      this.res.writeHead(statusCode, headers);
    } catch (error) {
      // A header value Node refuses to send (control characters): the response is unusable.
      this.abort?.(error as Error);
      return false;
    }
    // An event stream's client waits for the headers before the first event arrives.
    if (eventStream) this.res.flushHeaders();
    if (this.req.method !== 'HEAD') this.remaining = contentLength;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.limit > 0) {
      this.bytes += chunk.length;
      if (this.bytes > this.limit) {
        this.abort?.(new ResponseTooLargeError('response body too large'));
        return false;
      }
    }
    if (this.remaining === chunk.length) {
      // The last chunk of a sized body (most responses fit one chunk): one `end` call writes it
      // and finishes the response, cheaper than a `write` and an `end`.
      this.ended = true;
      this.res.end(chunk);
      return true;
    }
    if (this.remaining > 0) this.remaining -= chunk.length;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.onDrain);
    return false;
  }

  onComplete(): void {
    if (this.done) return;
    this.done = true;
    if (!this.ended) this.res.end();
    this.route.metrics.answered(this.status, this.startedAt);
  }

  onError(error: Error): void {
    if (this.done) return;
    this.done = true;
    const page = this.proxy.failed(this.route, error);
    if (this.res.headersSent) {
      // Mid-body: the only honest signal left is to cut the connection.
      this.res.destroy();
      this.route.metrics.answered(this.status, this.startedAt);
      return;
    }
    this.proxy.page(this.req, this.res, page, this.route.metrics, this.startedAt, true);
  }
}

/**
 * A WebSocket upgrade: the upstream's 101 is relayed (without its hop-by-hop headers, which are
 * re-added) and then both sockets are spliced. A refusal (any other status) is relayed as a plain
 * response and the connection closed.
 */
class UpgradeHandler implements Dispatcher.DispatchHandler {
  private abort: ((error?: Error) => void) | undefined;
  private answered = false;
  private streaming = false;

  constructor(
    private readonly proxy: EdgeProxy,
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly route: ActiveRoute,
    private readonly startedAt: number,
  ) {
    socket.once('close', () => {
      if (!this.answered) this.abort?.(new ClientGoneError('client closed the connection'));
    });
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abort = abort;
    if (this.socket.destroyed) abort(new ClientGoneError('client closed the connection'));
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, upstream: Duplex): void {
    this.answered = true;
    const client = this.socket;
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    const headers: string[] = [];
    clientResponseHeaders((rawHeaders ?? []) as Buffer[], this.route.token, headers);
    let head = `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    client.write(`${head}\r\n`, 'latin1');
    if (this.head.length > 0) upstream.write(this.head);
    (client as Socket).setNoDelay?.(true);
    (upstream as Socket).setNoDelay?.(true);
    const metrics = this.route.metrics;
    metrics.answered(statusCode, this.startedAt);
    metrics.websocketOpened();
    this.proxy.track(client);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.proxy.untrack(client);
      metrics.websocketClosed();
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    upstream.on('error', close);
    client.on('error', close);
    upstream.pipe(client);
    client.pipe(upstream);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true;
    this.answered = true;
    this.streaming = true;
    const headers: string[] = [];
    clientResponseHeaders(rawHeaders, this.route.token, headers);
    let head = `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}\r\nconnection: close\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    this.socket.write(`${head}\r\n`, 'latin1');
    this.route.metrics.answered(statusCode, this.startedAt);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.socket.write(chunk);
    return true;
  }

  onComplete(): void {
    this.socket.end();
  }

  onError(error: Error): void {
    const page = this.proxy.failed(this.route, error);
    if (this.streaming || this.answered) {
      this.socket.destroy();
      return;
    }
    this.answered = true;
    this.route.metrics.answered(
      this.proxy.pagesFor().writeRaw(this.req, this.socket, page),
      this.startedAt,
    );
  }
}
