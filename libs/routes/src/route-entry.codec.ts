import type { RouteEntry } from './route-publisher';

const STATUSES: ReadonlySet<string> = new Set<RouteEntry['status']>(['provisioning', 'running']);
const PROTOCOLS: ReadonlySet<string> = new Set<RouteEntry['protocol']>(['http', 'https']);
// A slug is the left-most label of `<slug>.<BASE_DOMAIN>`, so it must be a lower-case DNS label.
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Thrown for an entry that cannot be stored or a stored value that is not a route entry. */
export class RouteEntryFormatError extends Error {
  override readonly name = 'RouteEntryFormatError';
}

export function assertSlug(slug: unknown): asserts slug is string {
  if (typeof slug !== 'string' || !SLUG.test(slug)) {
    throw new RouteEntryFormatError('A route slug must be a lower-case DNS label');
  }
}

export function assertGeneration(generation: unknown): asserts generation is number {
  // The Lua scripts compare generations as doubles: only safe integers compare exactly.
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 0) {
    throw new RouteEntryFormatError('A route generation must be a non-negative safe integer');
  }
}

/** Names the first problem of `value` as a route entry, or returns undefined if there is none. */
function problemOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const e = value as Record<string, unknown>;
  if (typeof e.slug !== 'string' || !SLUG.test(e.slug)) return 'slug';
  if (typeof e.orgId !== 'string' || e.orgId === '') return 'orgId';
  if (typeof e.status !== 'string' || !STATUSES.has(e.status)) return 'status';
  if (typeof e.address !== 'string' || e.address === '') return 'address';
  if (typeof e.port !== 'number' || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
    return 'port';
  }
  if (typeof e.protocol !== 'string' || !PROTOCOLS.has(e.protocol)) return 'protocol';
  if (e.tlsFingerprint !== undefined && typeof e.tlsFingerprint !== 'string') {
    return 'tlsFingerprint';
  }
  if (typeof e.generation !== 'number' || !Number.isSafeInteger(e.generation) || e.generation < 0) {
    return 'generation';
  }
  if (typeof e.credential !== 'string' || e.credential === '') return 'credential';
  if (typeof e.updatedAt !== 'string' || e.updatedAt === '') return 'updatedAt';
  return undefined;
}

/**
 * Serialises only the known fields, so a caller's object that happens to carry anything else
 * (a plaintext token, say) never reaches a store. Error messages name the field, never a value:
 * an entry holds the credential ciphertext.
 */
export function encodeRouteEntry(entry: RouteEntry): string {
  const problem = problemOf(entry);
  if (problem) throw new RouteEntryFormatError(`Invalid route entry: ${problem}`);
  return JSON.stringify(knownFields(entry));
}

function knownFields(entry: RouteEntry): RouteEntry {
  return {
    slug: entry.slug,
    orgId: entry.orgId,
    status: entry.status,
    address: entry.address,
    port: entry.port,
    protocol: entry.protocol,
    ...(entry.tlsFingerprint === undefined ? {} : { tlsFingerprint: entry.tlsFingerprint }),
    generation: entry.generation,
    credential: entry.credential,
    updatedAt: entry.updatedAt,
  };
}

/** Parses a stored value; `where` names the store and key for the error, never the value. */
export function decodeRouteEntry(raw: string, where: string): RouteEntry {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new RouteEntryFormatError(`The route entry at ${where} is not JSON`);
  }
  const problem = problemOf(value);
  if (problem) {
    throw new RouteEntryFormatError(`The route entry at ${where} is malformed: ${problem}`);
  }
  return knownFields(value as RouteEntry);
}
