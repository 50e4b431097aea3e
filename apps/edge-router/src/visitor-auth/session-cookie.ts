import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * The visitor session cookie. Over HTTPS it is `__Host-molecule_session`: browsers accept that
 * name only host-only, `Secure` and on `Path=/`, so no sibling tenant (`other.<BASE_DOMAIN>`) can
 * plant or shadow it with a `Domain=` cookie. Plain HTTP (development) cannot use the prefix and
 * gets `molecule_session`. Both are read, the prefixed one first.
 */
export const SECURE_SESSION_COOKIE = '__Host-molecule_session';
export const PLAIN_SESSION_COOKIE = 'molecule_session';
export const SESSION_COOKIES: readonly string[] = [SECURE_SESSION_COOKIE, PLAIN_SESSION_COOKIE];

/** The router's own paths on every tenant host; never forwarded to the tenant. */
export const RESERVED_PATH_PREFIX = '/_molecule/';
export const SESSION_PATH = '/_molecule/session';
export const LOGOUT_PATH = '/_molecule/logout';

/** The value of the first of `names` present in a Cookie header. */
export function cookieValue(header: string, names: readonly string[]): string | undefined {
  let found: string | undefined;
  let rank = names.length;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const index = names.indexOf(part.slice(0, eq).trim());
    if (index !== -1 && index < rank) {
      rank = index;
      found = part.slice(eq + 1).trim();
      if (rank === 0) break;
    }
  }
  return found;
}

/**
 * The Cookie header without the session cookies, or undefined when nothing else is left: the
 * tenant keeps its own cookies but never sees the router's credential.
 */
export function withoutSessionCookies(header: string): string | undefined {
  if (!header.includes(PLAIN_SESSION_COOKIE)) return header;
  const kept: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim();
    if (name === '' || SESSION_COOKIES.includes(name)) continue;
    kept.push(part.trim());
  }
  return kept.length === 0 ? undefined : kept.join('; ');
}

/** Whether a response's `Set-Cookie` would set (or clear) a session cookie. */
export function setsSessionCookie(value: string): boolean {
  const eq = value.indexOf('=');
  return eq !== -1 && SESSION_COOKIES.includes(value.slice(0, eq).trim());
}

/**
 * Whether the visitor reached the router over HTTPS: its own TLS, or `X-Forwarded-Proto: https`
 * from the load balancer that terminated it. The header is believed even from an untrusted client
 * because it only makes the cookie stricter (a `Secure` cookie is never sent over plain HTTP).
 */
export function visitorUsesHttps(req: IncomingMessage): boolean {
  if ((req.socket as TLSSocket).encrypted) return true;
  const proto = req.headers['x-forwarded-proto'];
  return typeof proto === 'string' && proto.split(',', 1)[0].trim().toLowerCase() === 'https';
}

/** The `Set-Cookie` value that stores a new session. */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return secure
    ? `${SECURE_SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Lax`
    : `${PLAIN_SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax`;
}

/** `Set-Cookie` values that remove both session cookies. */
export function clearedSessionCookies(): string[] {
  return [
    `${SECURE_SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`,
    `${PLAIN_SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`,
  ];
}
