import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { util as undiciUtil } from 'undici';
import type { ActiveRoute } from '../routing/route-resolver';
import { setsSessionCookie, withoutSessionCookies } from '../visitor-auth/session-cookie';
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
 * `cookie` is passed on without the router's session cookie (see `withoutSessionCookies`).
 */
const DROPPED_REQUEST = new Set([
  ...HOP_BY_HOP,
  'host',
  'expect',
  'authorization',
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

/** The usual `Connection` values, which name no other header: no need to take them apart. */
const PLAIN_CONNECTION = /^\s*(?:keep-alive|close|upgrade)\s*$/i;

/**
 * Undici's lower-case names for raw header buffers: interned strings for the well-known names
 * (no allocation per response), a lower-cased copy for others.
 */
const headerName = undiciUtil.headerNameToString;

/** Names listed in a `Connection` header are hop-by-hop for that message too. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && PLAIN_CONNECTION.test(value)) return undefined;
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
  // Sized once: the client's raw header lines bound what is kept, plus the router's 8 pairs.
  const out: string[] = new Array<string>(req.rawHeaders.length + 16);
  let n = 0;
  for (const name in headers) {
    if (DROPPED_REQUEST.has(name)) continue;
    // Both prefixes start with "x-": one cheap check first keeps the common case fast.
    if (name.charCodeAt(0) === 0x78 && name.charCodeAt(1) === 0x2d) {
      if (name.startsWith('x-molecule-') || name.startsWith('x-forwarded-')) continue;
    }
    if (extra?.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (name === 'cookie') {
      // Node joins repeated Cookie headers into one string.
      const kept = withoutSessionCookies(typeof value === 'string' ? value : value.join('; '));
      if (kept !== undefined) {
        out[n++] = name;
        out[n++] = kept;
      }
    } else if (typeof value === 'string') {
      out[n++] = name;
      out[n++] = value;
    } else {
      for (const item of value) {
        out[n++] = name;
        out[n++] = item;
      }
    }
  }
  const peer = req.socket.remoteAddress ?? '';
  const clientFor = policy.trustForwardedHeaders ? headers['x-forwarded-for'] : undefined;
  const clientProto = policy.trustForwardedHeaders ? headers['x-forwarded-proto'] : undefined;
  const requestId = headers['x-request-id'];
  out[n++] = 'authorization';
  out[n++] = route.authorization;
  out[n++] = 'x-forwarded-for';
  out[n++] = typeof clientFor === 'string' && clientFor !== '' ? `${clientFor}, ${peer}` : peer;
  out[n++] = 'x-forwarded-proto';
  out[n++] =
    typeof clientProto === 'string' && clientProto !== ''
      ? clientProto
      : (req.socket as TLSSocket).encrypted
        ? 'https'
        : 'http';
  out[n++] = 'x-forwarded-host';
  out[n++] = headers.host ?? '';
  out[n++] = 'x-molecule-org-id';
  out[n++] = route.orgId;
  out[n++] = 'x-molecule-visitor';
  out[n++] = visitor.via;
  out[n++] = 'x-molecule-visitor-role';
  out[n++] = visitor.role;
  out[n++] = 'x-request-id';
  out[n++] =
    typeof requestId === 'string' && REQUEST_ID.test(requestId) ? requestId : newRequestId();
  out.length = n;
  return out;
}

/** What the response headers say about the body; filled in by `clientResponseHeaders`. */
export interface ResponseInfo {
  /** `text/event-stream`: flushed at once, exempt from the body size limit. */
  eventStream: boolean;
  /** The declared `Content-Length`, or -1. */
  contentLength: number;
}

/**
 * The response headers passed to the client, as Node's flat `[name, value, …]` list, from
 * undici's raw header buffers. Drops hop-by-hop headers (Node frames the response itself), any
 * header that contains the tenant token (an upstream that echoes request headers back must not
 * hand the credential to the visitor), and any `Set-Cookie` for the router's session cookie (a
 * tenant cannot plant or clear a visitor's session). Returns whether the response is an event
 * stream, which must be flushed at once and is exempt from the body size limit.
 */
export function clientResponseHeaders(raw: Buffer[], token: string, info: ResponseInfo): string[] {
  let extra: Set<string> | undefined;
  info.eventStream = false;
  info.contentLength = -1;
  // Sized once (never more than undici's raw list) and trimmed, instead of grown push by push.
  const out = new Array<string>(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = headerName(raw[i]);
    if (HOP_BY_HOP.has(name)) {
      // Their values are not needed, except Connection's list of more hop-by-hop names.
      if (name === 'connection') extra = connectionTokens(raw[i + 1].toString('latin1'));
      continue;
    }
    const value = raw[i + 1].toString('latin1');
    if (name === 'content-type') {
      info.eventStream = value.startsWith('text/event-stream');
    } else if (name === 'content-length') {
      info.contentLength = Number(value);
    } else if (name === 'set-cookie' && setsSessionCookie(value)) {
      continue;
    }
    if (token !== '' && value.includes(token)) continue;
    out[n++] = name;
    out[n++] = value;
  }
  out.length = n;
  if (extra !== undefined) {
    for (let i = out.length - 2; i >= 0; i -= 2) {
      if (extra.has(out[i])) out.splice(i, 2);
    }
  }
  return out;
}
