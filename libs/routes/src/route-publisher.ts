/**
 * One tenant route: where `<slug>.<BASE_DOMAIN>` goes. `generation` grows every time the slug's
 * backend changes (or the slug is recycled by a new org); stores never let an older generation
 * overwrite or delete a newer one, so a late writer cannot point a slug at a dead backend.
 */
export interface RouteEntry {
  slug: string;
  orgId: string;
  status: 'provisioning' | 'running';
  /** Host and port of the tenant host, as the edge router reaches it. */
  address: string;
  port: number;
  protocol: 'http' | 'https';
  /** SHA-256 fingerprint of the upstream's certificate, for HTTPS upstreams. */
  tlsFingerprint?: string;
  generation: number;
  /** The tenant ADMIN_TOKEN, envelope-encrypted with the org's data key. Never plaintext. */
  credential: string;
  updatedAt: string;
}

/** The route store port. Implementations: `redis` (the edge router's table) and `cloudflare` KV. */
export interface RoutePublisher {
  readonly name: 'redis' | 'cloudflare';
  /** Writes the entry unless the store holds a newer generation. Returns whether it wrote. */
  publish(entry: RouteEntry): Promise<boolean>;
  /**
   * Removes the slug's entry if its generation is at most `generation`. Idempotent: returns false
   * only when a newer entry was kept, true when the slug has no such entry afterwards (including
   * when it had none), so a resumed delete can tell "done" from "superseded".
   */
  remove(slug: string, generation: number): Promise<boolean>;
  get(slug: string): Promise<RouteEntry | undefined>;
}

export const ROUTE_PUBLISHERS = Symbol('ROUTE_PUBLISHERS');
