import type { Principal } from '@molecule/auth';
import { normalizeIp } from '@nestjs/throttler';
import { isIP } from 'node:net';

/**
 * Whose bucket a request counts against. An authenticated caller is its principal, so tenants
 * behind one NAT address do not share a bucket and one noisy tenant cannot starve another; a
 * workspace's bootstrap and session tokens share the workspace's bucket.
 */
export function principalTracker(principal: Principal): string {
  switch (principal.kind) {
    case 'platform-admin':
      return 'admin';
    case 'org-key':
    case 'partner-key':
      return `key:${principal.keyId}`;
    case 'workspace-token':
    case 'workspace-bootstrap':
      return `ws:${principal.workspaceId}`;
  }
}

/**
 * The client's address. `X-Forwarded-For` is only read with `trustedHops` > 0, and then only the
 * entries the trusted proxies appended (counted from the right): anything further left was sent
 * by the client and could be forged to get a fresh bucket. IPv6 clients are grouped by /64,
 * since one host usually holds a whole /64 and could rotate addresses within it.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedHops: number,
): string {
  const peer = plainAddress(socketAddress ?? '') ?? 'unknown';
  if (trustedHops <= 0 || forwardedFor === undefined) return normalizeIp(peer);
  const forwarded = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  // The chain as the last proxy sees it: the addresses its predecessors saw, then its own peer.
  const chain = [...forwarded, peer];
  // Fewer entries than proxies: the request skipped some of them; the leftmost is all we know.
  const candidate = chain[Math.max(0, chain.length - 1 - trustedHops)];
  return normalizeIp(plainAddress(candidate) ?? peer);
}

/** `1.2.3.4`, `1.2.3.4:5678`, `::1` or `[::1]:80` as a bare address; undefined if not one. */
function plainAddress(value: string): string | undefined {
  if (isIP(value)) return value;
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed && isIP(bracketed[1]) === 6) return bracketed[1];
  const withPort = /^([\d.]+):\d{1,5}$/.exec(value);
  if (withPort && isIP(withPort[1]) === 4) return withPort[1];
  return undefined;
}
