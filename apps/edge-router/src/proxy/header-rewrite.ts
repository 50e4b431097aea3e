import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ActiveRoute } from '../routing/route-resolver';
import type { Visitor } from '../visitor-auth/visitor-authenticator';

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Request headers the client may not pass on. Credentials are the visitor's (the tenant gets its
 * own token instead); identity and forwarding headers are set by the router alone, since a client
 * that could set them could pose as another org, workspace or address. `host` is replaced by the
 * upstream's (the visitor's host goes in X-Forwarded-Host); `expect` is answered by the router.
 */
const DROPPED_REQUEST = new Set([
  ...HOP_BY_HOP,
  'host',
  'expect',
  'authorization',
  'cookie',
  'x-api-key',
  'x-workspace-id',
  'forwarded',
  'x-real-ip',
  'x-request-id',
]);

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

// Request ids only need to be unique, not unguessable: a random prefix per process and a counter
// cost a fraction of a UUID per request and still tell replicas and restarts apart.
const REQUEST_ID_PREFIX = `edge-${randomBytes(6).toString('base64url')}-`;
let requestCounter = 0;

function newRequestId(): string {
  requestCounter = (requestCounter + 1) % Number.MAX_SAFE_INTEGER;
  return REQUEST_ID_PREFIX + requestCounter.toString(36);
}

/** Names listed in a `Connection` header are hop-by-hop for that message too. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  let extra: Set<string> | undefined;
  for (const token of String(value).split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'keep-alive' && name !== 'close' && name !== 'upgrade') {
      (extra ??= new Set()).add(name);
    }
  }
  return extra;
}

export interface ForwardingPolicy {
  /** Keep the client's X-Forwarded-For/-Proto (behind a trusted load balancer). */
  trustForwardedHeaders: boolean;
}

/**
 * The headers sent upstream, as undici's flat `[name, value, …]` list: the client's end-to-end
 * headers minus everything in `DROPPED_REQUEST` and any `x-molecule-*` / `x-forwarded-*`, plus the
 * router's own: the tenant credential, X-Forwarded-*, the visitor's org and the request id.
 */
export function upstreamRequestHeaders(
  req: IncomingMessage,
  route: ActiveRoute,
  visitor: Visitor,
  policy: ForwardingPolicy,
): string[] {
  const headers = req.headers;
  const extra = connectionTokens(headers.connection);
  const out: string[] = [];
  for (const name in headers) {
    if (DROPPED_REQUEST.has(name)) continue;
    // Both prefixes start with "x-": one cheap check first keeps the common case fast.
    if (name.charCodeAt(0) === 0x78 && name.charCodeAt(1) === 0x2d) {
      if (name.startsWith('x-molecule-') || name.startsWith('x-forwarded-')) continue;
    }
    if (extra?.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const item of value) out.push(name, item);
  }
  const peer = req.socket.remoteAddress ?? '';
  const clientFor = policy.trustForwardedHeaders ? headers['x-forwarded-for'] : undefined;
  const clientProto = policy.trustForwardedHeaders ? headers['x-forwarded-proto'] : undefined;
  const requestId = headers['x-request-id'];
  out.push(
    'authorization',
    route.authorization,
    'x-forwarded-for',
    typeof clientFor === 'string' && clientFor !== '' ? `${clientFor}, ${peer}` : peer,
    'x-forwarded-proto',
    typeof clientProto === 'string' && clientProto !== ''
      ? clientProto
      : (req.socket as TLSSocket).encrypted
        ? 'https'
        : 'http',
    'x-forwarded-host',
    headers.host ?? '',
    'x-molecule-org-id',
    route.orgId,
    'x-molecule-visitor',
    visitor.via,
    'x-molecule-visitor-role',
    visitor.role,
    'x-request-id',
    typeof requestId === 'string' && REQUEST_ID.test(requestId) ? requestId : newRequestId(),
  );
  return out;
}

/**
 * The response headers passed to the client, as Node's flat `[name, value, …]` list, from
 * undici's raw header buffers. Drops hop-by-hop headers (Node frames the response itself) and any
 * header that contains the tenant token: an upstream that echoes request headers back must not
 * hand the credential to the visitor. Returns whether the response is an event stream, which must
 * be flushed at once and is exempt from the body size limit.
 */
export function clientResponseHeaders(
  raw: Buffer[],
  token: string,
  out: string[],
): { eventStream: boolean; contentLength: number } {
  let extra: Set<string> | undefined;
  let eventStream = false;
  let contentLength = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1').toLowerCase();
    const value = raw[i + 1].toString('latin1');
    if (HOP_BY_HOP.has(name)) {
      if (name === 'connection') extra = connectionTokens(value);
      continue;
    } else if (name === 'content-type') {
      eventStream = value.startsWith('text/event-stream');
    } else if (name === 'content-length') {
      contentLength = Number(value);
    }
    if (token !== '' && value.includes(token)) continue;
    out.push(name, value);
  }
  if (extra !== undefined) {
    for (let i = out.length - 2; i >= 0; i -= 2) {
      if (extra.has(out[i])) out.splice(i, 2);
    }
  }
  return { eventStream, contentLength };
}
