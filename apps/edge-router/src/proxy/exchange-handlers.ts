import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { TenantMetrics } from '../metrics/edge-metrics';
import type { EdgePage, EdgePages } from '../pages/edge-pages';
import type { ActiveRoute } from '../routing/route-resolver';
import { clientResponseHeaders, type ResponseInfo } from './header-rewrite';
import { ClientGoneError, ResponseTooLargeError } from './proxy-errors';
import { UpstreamTimeoutError, type Deadlined, type UpstreamDeadlines } from './upstream-deadlines';

/** What the exchange handlers need from the proxy (`EdgeProxy`). */
export interface ExchangeContext {
  /** Upstream time limits of the exchanges in flight. */
  readonly deadlines: UpstreamDeadlines;
  /** Largest response body passed on (0: no limit). */
  readonly responseLimit: number;
  /** Answers with one of the router's pages (or cuts the response if it has begun). */
  page(
    req: IncomingMessage,
    res: ServerResponse,
    page: EdgePage,
    metrics: TenantMetrics,
    startedAt: number,
    close?: boolean,
  ): void;
  /** Counts and logs an upstream failure; returns the page it becomes. */
  failed(route: ActiveRoute, error: Error): EdgePage;
  pagesFor(): EdgePages;
  /** WebSocket tunnels, cut on shutdown. */
  track(socket: Duplex): void;
  untrack(socket: Duplex): void;
}

const HANDLER = Symbol('edge-proxy.handler');
type HandledResponse = ServerResponse & { [HANDLER]?: ProxyHandler };

// Shared listeners that find their handler on the response: a closure per request (and `once`'s
// wrapper) is garbage the young generation has to collect at proxy rates.
function onClientClose(this: HandledResponse): void {
  this[HANDLER]?.clientClosed();
}

function onClientDrain(this: HandledResponse): void {
  this[HANDLER]?.drained();
}

/**
 * One proxied exchange, on undici's low-level handler interface: response headers are rewritten
 * and written as soon as they arrive, body chunks go straight to the client socket with
 * backpressure in both directions, and nothing is buffered (SSE and chunked responses stream).
 */
export class ProxyHandler implements Dispatcher.DispatchHandler, ResponseInfo, Deadlined {
  private abort: ((error?: Error) => void) | undefined;
  /** A time limit that passed before undici handed over `abort`. */
  private expired: UpstreamTimeoutError | undefined;
  deadline: number;
  deadlineSlot = -1;
  private status = 0;
  private bytes = 0;
  private limit: number;
  private done = false;
  /** Body bytes still expected by Content-Length, or -1 when the length is unknown. */
  private remaining = -1;
  private ended = false;
  private resume: (() => void) | undefined;
  private waitingForDrain = false;
  eventStream = false;
  contentLength = -1;

  constructor(
    private readonly proxy: ExchangeContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly route: ActiveRoute,
    private readonly startedAt: number,
  ) {
    this.limit = proxy.responseLimit;
    this.deadline = startedAt + proxy.deadlines.headersMs;
    proxy.deadlines.watch(this);
    (res as HandledResponse)[HANDLER] = this;
    res.on('close', onClientClose);
  }

  clientClosed(): void {
    if (!this.done && !this.ended) {
      // The client went away: stop the upstream exchange instead of reading it for nobody.
      this.done = true;
      this.proxy.deadlines.unwatch(this);
      this.route.metrics.answered(499, this.startedAt);
      this.abort?.(new ClientGoneError('client closed the connection'));
    }
  }

  drained(): void {
    this.deadline = performance.now() + this.proxy.deadlines.bodyIdleMs;
    this.resume?.();
  }

  expire(): void {
    const error = new UpstreamTimeoutError(this.status === 0 ? 'headers' : 'body');
    if (this.abort !== undefined) this.abort(error);
    else this.expired = error;
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abort = abort;
    if (this.done) abort(new ClientGoneError('client closed the connection'));
    else if (this.expired !== undefined) abort(this.expired);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim responses (103 Early Hints) are not passed on; the final one follows.
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.resume = resume;
    this.deadline = performance.now() + this.proxy.deadlines.bodyIdleMs;
    const headers = clientResponseHeaders(rawHeaders, this.route.token, this);
    const { eventStream, contentLength } = this;
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
    this.deadline = performance.now() + this.proxy.deadlines.bodyIdleMs;
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
    if (!this.waitingForDrain) {
      // Once per exchange: every later 'drain' also means "go on" (resuming twice is harmless).
      this.waitingForDrain = true;
      this.res.on('drain', onClientDrain);
    }
    return false;
  }

  onComplete(): void {
    if (this.done) return;
    this.done = true;
    this.proxy.deadlines.unwatch(this);
    if (!this.ended) this.res.end();
    this.route.metrics.answered(this.status, this.startedAt);
  }

  onError(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.proxy.deadlines.unwatch(this);
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
export class UpgradeHandler implements Dispatcher.DispatchHandler, Deadlined {
  private abort: ((error?: Error) => void) | undefined;
  private expired: UpstreamTimeoutError | undefined;
  private answered = false;
  private streaming = false;
  deadline: number;
  deadlineSlot = -1;

  constructor(
    private readonly proxy: ExchangeContext,
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly route: ActiveRoute,
    private readonly startedAt: number,
  ) {
    // Until the upstream answers the upgrade; the tunnel itself has no idle limit.
    this.deadline = startedAt + proxy.deadlines.headersMs;
    proxy.deadlines.watch(this);
    socket.once('close', () => {
      if (!this.answered) this.abort?.(new ClientGoneError('client closed the connection'));
    });
  }

  expire(): void {
    const error = new UpstreamTimeoutError('headers');
    if (this.abort !== undefined) this.abort(error);
    else this.expired = error;
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abort = abort;
    if (this.socket.destroyed) abort(new ClientGoneError('client closed the connection'));
    else if (this.expired !== undefined) abort(this.expired);
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, upstream: Duplex): void {
    this.answered = true;
    this.proxy.deadlines.unwatch(this);
    const client = this.socket;
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    const headers = clientResponseHeaders((rawHeaders ?? []) as Buffer[], this.route.token, {
      eventStream: false,
      contentLength: -1,
    });
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
    this.proxy.deadlines.unwatch(this);
    const headers = clientResponseHeaders(rawHeaders, this.route.token, {
      eventStream: false,
      contentLength: -1,
    });
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
    this.proxy.deadlines.unwatch(this);
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
