import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  A2A_PROTOCOL_VERSION,
  A2A_VERSION_HEADER,
  Extensions,
  HTTP_EXTENSION_HEADER,
  SSE_HEADERS,
  formatSSEErrorEvent,
  formatSSEEvent,
} from '@a2a-js/sdk';
import {
  JsonRpcTransportHandler,
  UnauthenticatedUser,
  defaultServerCallContextBuilder,
  validateVersion,
} from '@a2a-js/sdk/server';
import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import { LEGACY_HTTP_EXTENSION_HEADER, isV1JsonRpcMethod } from '@a2a-js/sdk/compat/v0_3';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { A2A_ERROR_CODE, ContentTypeNotSupportedError } from '@a2a-js/sdk/errors';
import { toLegacyAgentCard } from './echo-agent';
import { sendJson } from './http-replies';

/**
 * The SDK's JSON-RPC and agent-card endpoints on plain `node:http`. The SDK ships them as Express
 * middleware only, and Express is not a dependency of this repository; the SDK's framework-agnostic
 * transport handlers do the protocol work, and this file does what its Express layer does around
 * them: version negotiation (`A2A-Version`, absent = 0.3), v0.3 compatibility, SSE for streaming
 * methods, error mapping.
 */

const LEGACY_VERSION = '0.3';
/** The registry's proxy limits requests to 1 MiB; a direct caller gets the same limit. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
const JSON_MEDIA_TYPES = new Set(['application/json', 'application/a2a+json']);

type JsonRpcId = string | number | null;

export interface A2aHttp {
  agentCard: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  jsonRpc: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

export function createA2aHttp(requestHandler: A2ARequestHandler): A2aHttp {
  const current = new JsonRpcTransportHandler(requestHandler);
  const legacy = new LegacyJsonRpcTransportHandler(requestHandler);

  return {
    async agentCard(req, res) {
      const card = await requestHandler.getAgentCard();
      const body = isLegacy(req) ? toLegacyAgentCard(card) : card;
      // The card depends on the header, so caches must key on it.
      sendJson(res, 200, body, { vary: A2A_VERSION_HEADER, 'cache-control': 'no-cache' });
    },

    async jsonRpc(req, res) {
      const mediaType = header(req, 'content-type')?.split(';', 1)[0].trim().toLowerCase();
      if (mediaType !== undefined && !JSON_MEDIA_TYPES.has(mediaType)) {
        const mapError = errorMapper(isLegacy(req));
        sendJson(res, 200, {
          jsonrpc: '2.0',
          id: null,
          error: mapError(new ContentTypeNotSupportedError('expected application/json')),
        });
        return;
      }
      const raw = await readBody(req, MAX_REQUEST_BYTES);
      if (raw === undefined) {
        sendJson(res, 413, {
          jsonrpc: '2.0',
          id: null,
          error: { code: A2A_ERROR_CODE.INVALID_REQUEST, message: 'Request body over 1 MiB.' },
        });
        return;
      }
      let body: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(raw.toString('utf8'));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          throw new SyntaxError('not an object');
        }
        body = parsed as Record<string, unknown>;
      } catch {
        sendJson(res, 200, {
          jsonrpc: '2.0',
          id: null,
          error: { code: A2A_ERROR_CODE.PARSE_ERROR, message: 'Invalid JSON payload.' },
        });
        return;
      }
      const id = jsonRpcId(body.id);
      // Without `A2A-Version`, A2A means 0.3. The two versions' method names never overlap, so a
      // v1.0 method sent without the header (a proxy that dropped it) is still served as v1.0.
      const versionHeader = header(req, A2A_VERSION_HEADER);
      const requestedVersion =
        versionHeader ?? (isV1JsonRpcMethod(body.method) ? A2A_PROTOCOL_VERSION : undefined);
      const useLegacy = (requestedVersion ?? LEGACY_VERSION) === LEGACY_VERSION;
      const mapError = errorMapper(useLegacy);

      try {
        const context = defaultServerCallContextBuilder({
          extensions: Extensions.parseServiceParameter(
            useLegacy
              ? (header(req, LEGACY_HTTP_EXTENSION_HEADER) ?? header(req, HTTP_EXTENSION_HEADER))
              : header(req, HTTP_EXTENSION_HEADER),
          ),
          user: new UnauthenticatedUser(),
          headers: req.headers,
          requestedVersion,
        });
        validateVersion(context.requestedVersion, await requestHandler.getAgentCard(), 'JSONRPC');
        const result = await (useLegacy ? legacy : current).handle(body, context);
        const extensionHeader: Record<string, string> = context.activatedExtensions
          ? {
              [useLegacy ? LEGACY_HTTP_EXTENSION_HEADER : HTTP_EXTENSION_HEADER]: Array.from(
                context.activatedExtensions,
              ).join(', '),
            }
          : {};
        if (isAsyncIterable(result)) {
          await streamEvents(res, result, id, mapError, extensionHeader);
        } else {
          sendJson(res, 200, result, extensionHeader);
        }
      } catch (error) {
        const mapped = mapError(error);
        if (!res.headersSent) {
          // An internal error is the server's fault; everything else is a JSON-RPC answer.
          const status = mapped.code === A2A_ERROR_CODE.INTERNAL_ERROR ? 500 : 200;
          sendJson(res, status, { jsonrpc: '2.0', id, error: mapped });
        } else if (!res.writableEnded) {
          res.end();
        }
      }
    },
  };
}

/**
 * Writes a streaming result as SSE. The first event is awaited before any header goes out, so a
 * request the handler rejects up front still gets a plain JSON-RPC error, as with the SDK.
 */
async function streamEvents(
  res: ServerResponse,
  stream: AsyncIterable<unknown>,
  id: JsonRpcId,
  mapError: (error: unknown) => unknown,
  headers: Record<string, string>,
): Promise<void> {
  const iterator = stream[Symbol.asyncIterator]();
  let first: IteratorResult<unknown>;
  try {
    first = await iterator.next();
  } catch (error) {
    sendJson(res, 200, { jsonrpc: '2.0', id, error: mapError(error) });
    return;
  }
  res.writeHead(200, { ...SSE_HEADERS, ...headers });
  res.flushHeaders();
  try {
    let next = first;
    while (!next.done) {
      // The caller went away: stop producing (return() lets the handler release the task).
      if (res.destroyed) {
        await iterator.return?.();
        return;
      }
      if (!res.write(formatSSEEvent(next.value))) {
        await new Promise<void>((done) => {
          res.once('drain', done);
          res.once('close', done);
        });
      }
      next = await iterator.next();
    }
  } catch (error) {
    if (!res.writableEnded && !res.destroyed) {
      res.write(formatSSEErrorEvent({ jsonrpc: '2.0', id, error: mapError(error) }));
    }
  } finally {
    if (!res.writableEnded) res.end();
  }
}

/** Errors in the shape of the protocol version the request was served in. */
function errorMapper(legacy: boolean): (error: unknown) => { code: number; message: string } {
  return legacy
    ? (error) => LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError(error)
    : (error) => JsonRpcTransportHandler.mapToJSONRPCError(error);
}

/** `A2A-Version` absent or 0.3 selects the v0.3 surface, as A2A §3.6.2 and the SDK do. */
function isLegacy(req: IncomingMessage): boolean {
  return (header(req, A2A_VERSION_HEADER) ?? LEGACY_VERSION) === LEGACY_VERSION;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

function jsonRpcId(value: unknown): JsonRpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))
    ? value
    : null;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function'
  );
}

/** The body, or undefined once it passes `limit` bytes (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      resolve(undefined);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
