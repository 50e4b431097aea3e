import type { IncomingHttpHeaders } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { Agent, errors } from 'undici';

/** Where the agent of a workspace answers JSON-RPC and its card, relative to its address. */
export const AGENT_JSONRPC_PATH = '/a2a/jsonrpc';
export const AGENT_CARD_PATH = '/.well-known/agent-card.json';

/**
 * Request headers passed to the agent as they came. Everything else is dropped: credentials,
 * cookies and identity headers (`X-Workspace-ID`, `X-Molecule-*`) never reach an agent from a
 * caller; who is calling travels in {@link CALLER_HEADER}, set by the relay.
 */
const FORWARDED_REQUEST_HEADERS = [
  'content-type',
  'accept',
  'a2a-version',
  'a2a-extensions',
  'x-a2a-extensions',
] as const;
/** Response headers passed back: the media type and the A2A negotiation results. */
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'a2a-version',
  'a2a-extensions',
  'x-a2a-extensions',
] as const;

/** The caller as the control plane authenticated it: `workspace:<id>` or `org-key:<id>`. */
export const CALLER_HEADER = 'x-molecule-caller';

export interface RelayLimits {
  maxResponseBytes: number;
  timeoutMs: number;
  connectTimeoutMs: number;
}

export interface RelayRequest {
  /** The agent's base URL as the provisioner recorded it (`http://<address>:<port>`). */
  address: string;
  /** The JSON-RPC request, checked and serialised (as the agent receives it). */
  payload: string;
  headers: IncomingHttpHeaders;
  caller: string;
  /** Aborted when the caller goes away; the agent's request is cancelled too. */
  signal?: AbortSignal;
}

export type RelayFailure = 'unreachable' | 'timeout' | 'too-large';

export type RelayResult =
  /** A complete reply, read within the size limit. */
  | { kind: 'reply'; status: number; headers: Record<string, string>; body: Buffer }
  /** A server-sent event stream, passed on as it arrives; `finished` settles when it ends. */
  | {
      kind: 'stream';
      status: number;
      headers: Record<string, string>;
      body: Readable;
      finished: Promise<StreamEnd>;
    }
  | { kind: 'failed'; reason: RelayFailure; message: string };

export interface StreamEnd {
  bytes: number;
  /** Why the stream ended early, if it did. */
  failure?: RelayFailure | 'aborted';
}

/**
 * Sends A2A JSON-RPC requests to workspace agents over keep-alive connections and hands back
 * the reply: whole (up to the size limit) for plain calls, as a live stream for SSE. It knows
 * nothing about who may call whom; callers decide that first.
 */
export class A2aRelay {
  private readonly agent: Agent;

  constructor(private readonly limits: RelayLimits) {
    this.agent = new Agent({
      connect: { timeout: limits.connectTimeoutMs },
      headersTimeout: limits.timeoutMs,
      bodyTimeout: limits.timeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  async send(request: RelayRequest): Promise<RelayResult> {
    const { payload } = request;
    let response: Awaited<ReturnType<Agent['request']>>;
    try {
      response = await this.agent.request({
        origin: new URL(request.address).origin,
        path: `${new URL(request.address).pathname.replace(/\/$/, '')}${AGENT_JSONRPC_PATH}`,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...pick(request.headers, FORWARDED_REQUEST_HEADERS),
          'content-length': String(Buffer.byteLength(payload)),
          [CALLER_HEADER]: request.caller,
        },
        body: payload,
        signal: request.signal,
      });
    } catch (error) {
      return failure(error);
    }
    const headers = pick(response.headers, FORWARDED_RESPONSE_HEADERS);
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.limits.maxResponseBytes) {
      response.body.destroy();
      return tooLarge(this.limits.maxResponseBytes);
    }
    if (headers['content-type']?.startsWith('text/event-stream')) {
      return this.stream(response.statusCode, headers, response.body);
    }
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.limits.maxResponseBytes) {
          response.body.destroy();
          return tooLarge(this.limits.maxResponseBytes);
        }
        chunks.push(chunk);
      }
      return { kind: 'reply', status: response.statusCode, headers, body: Buffer.concat(chunks) };
    } catch (error) {
      return failure(error);
    }
  }

  /** The agent's card as it serves it (the caller rewrites where it points). */
  async card(address: string, headers: IncomingHttpHeaders): Promise<RelayResult> {
    try {
      const response = await this.agent.request({
        origin: new URL(address).origin,
        path: `${new URL(address).pathname.replace(/\/$/, '')}${AGENT_CARD_PATH}`,
        method: 'GET',
        headers: pick(headers, ['accept', 'a2a-version']),
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      if (body.length > this.limits.maxResponseBytes) return tooLarge(this.limits.maxResponseBytes);
      return {
        kind: 'reply',
        status: response.statusCode,
        headers: pick(response.headers, FORWARDED_RESPONSE_HEADERS),
        body,
      };
    } catch (error) {
      return failure(error);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  /** Counts the bytes of a stream and cuts it at the limit; a silent agent times out (undici). */
  private stream(status: number, headers: Record<string, string>, upstream: Readable): RelayResult {
    const limit = this.limits.maxResponseBytes;
    let bytes = 0;
    let failureReason: StreamEnd['failure'];
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > limit) {
          failureReason = 'too-large';
          upstream.destroy();
          done(new Error(`The agent's stream passed ${limit} bytes`));
          return;
        }
        done(null, chunk);
      },
    });
    const finished = new Promise<StreamEnd>((resolve) => {
      const settle = () => resolve({ bytes, ...(failureReason ? { failure: failureReason } : {}) });
      upstream.once('error', (error) => {
        failureReason ??= failureOf(error);
        counter.destroy(error);
      });
      counter.once('close', settle);
    });
    // When the caller goes away the counter is destroyed; the agent's request is cancelled too.
    counter.once('close', () => {
      if (!upstream.destroyed) {
        failureReason ??= 'aborted';
        upstream.destroy();
      }
    });
    upstream.pipe(counter);
    return { kind: 'stream', status, headers, body: counter, finished };
  }
}

function pick(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
  names: readonly string[],
): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (typeof value === 'string' && value !== '') picked[name] = value;
    else if (Array.isArray(value) && value.length > 0) picked[name] = value.join(', ');
  }
  return picked;
}

function failureOf(error: unknown): RelayFailure | 'aborted' {
  if (
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError ||
    error instanceof errors.ConnectTimeoutError
  ) {
    return 'timeout';
  }
  if (error instanceof errors.RequestAbortedError) return 'aborted';
  return 'unreachable';
}

function failure(error: unknown): RelayResult {
  const reason = failureOf(error);
  if (reason === 'aborted') throw error;
  return {
    kind: 'failed',
    reason,
    message:
      reason === 'timeout' ? 'The agent did not answer in time' : 'The agent could not be reached',
  };
}

function tooLarge(limit: number): RelayResult {
  return {
    kind: 'failed',
    reason: 'too-large',
    message: `The agent's reply is larger than ${limit} bytes`,
  };
}
