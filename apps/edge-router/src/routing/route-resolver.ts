import type { RouteEntry } from '@molecule/routes';
import type { ResolvedEdgeRouterOptions } from '../edge-router.options';
import { NO_TENANT, type EdgeMetrics, type TenantMetrics } from '../metrics/edge-metrics';
import type { Upstream, UpstreamPools } from '../proxy/upstream-pools';
import { TtlLru } from './ttl-lru';

/** A running tenant, ready to proxy to: everything the hot path needs, computed once. */
export interface ActiveRoute {
  readonly kind: 'running';
  readonly slug: string;
  readonly orgId: string;
  readonly generation: number;
  readonly target: Pick<RouteEntry, 'protocol' | 'address' | 'port' | 'tlsFingerprint'>;
  /** Replaced by the proxy when the pool was retired for idleness. */
  upstream: Upstream;
  /** `Bearer <tenant admin token>`; never logged, never sent to a client. */
  readonly authorization: string;
  /** The bare token, to scrub any response header that would echo it. */
  readonly token: string;
  readonly metrics: TenantMetrics;
}

export type RouteLookup =
  | ActiveRoute
  | { readonly kind: 'provisioning'; readonly slug: string; readonly metrics: TenantMetrics }
  | { readonly kind: 'missing'; readonly metrics: TenantMetrics }
  /** Nothing usable: Redis down with no known entry, a malformed entry, an unreadable credential. */
  | { readonly kind: 'unavailable'; readonly status: 502 | 503; readonly metrics: TenantMetrics };

/** Where routes come from (the Redis route table in production). */
export interface RouteSource {
  get(slug: string): Promise<RouteEntry | undefined>;
}

export interface RouteResolverDeps {
  source: RouteSource;
  /** Decrypts the tenant credential of an entry (envelope-encrypted with the org's data key). */
  decryptCredential(orgId: string, ciphertext: string): Promise<string>;
  /**
   * For a slug with no route: whether an org with it is being created, so visitors get the
   * provisioning splash instead of a 404 (the provisioner publishes the route only once running).
   */
  orgProvisioning?(slug: string): Promise<boolean>;
  pools: UpstreamPools;
  metrics: EdgeMetrics;
  onError?(what: string, error: unknown): void;
}

interface CachedRoute {
  lookup: RouteLookup;
  /** The entry's generation, or -1 for "no entry". */
  generation: number;
  /** An invalidation arrived: ask Redis again; the entry is only a fallback for when Redis is down. */
  invalidated: boolean;
  /** Served because Redis could not be asked; counted as stale while it is used. */
  stale: boolean;
}

interface Inflight {
  promise: Promise<RouteLookup>;
  /** An invalidation arrived while the lookup ran: its answer may predate the change. */
  superseded: boolean;
}

/**
 * Slug → route, from an in-process LRU (positive TTL ~60 s, negative ≤ 5 s) in front of the Redis
 * route table. Invalidations (pub/sub) mark entries so the next request asks Redis again.
 * Generations only grow per slug, so an entry older than a generation already seen is never used:
 * a recycled slug cannot reach its previous owner's backend, even from a stale cache. When Redis
 * cannot be asked, a known entry is served stale rather than failing the request.
 */
export class RouteResolver {
  private readonly cache: TtlLru<string, CachedRoute>;
  /** Highest generation seen per slug; outlives cache evictions (larger bound, no expiry). */
  private readonly seen: TtlLru<string, number>;
  private readonly inflight = new Map<string, Inflight>();
  private readonly noTenant: TenantMetrics;
  private readonly missing: RouteLookup;

  constructor(
    private readonly deps: RouteResolverDeps,
    private readonly options: ResolvedEdgeRouterOptions['routeCache'],
  ) {
    this.cache = new TtlLru(options.maxEntries);
    this.seen = new TtlLru(options.maxEntries * 4);
    this.noTenant = deps.metrics.tenant(NO_TENANT);
    this.missing = { kind: 'missing', metrics: this.noTenant };
  }

  /**
   * The route for a slug: synchronously when the cache holds a fresh entry (the common case, no
   * promise allocated), otherwise a promise.
   */
  resolve(slug: string): RouteLookup | Promise<RouteLookup> {
    const cached = this.cache.get(slug);
    if (cached !== undefined) {
      const record = cached.value;
      if (!record.invalidated) {
        if (cached.expiresAt > Date.now()) {
          record.lookup.metrics.cacheResult(
            record.stale ? 'stale' : record.generation < 0 ? 'negative_hit' : 'hit',
          );
          return record.lookup;
        }
        if (record.stale) {
          // Redis was failing: keep answering from memory and let one lookup probe it, instead
          // of making every request wait for a timeout.
          void this.refresh(slug, record);
          record.lookup.metrics.cacheResult('stale');
          return record.lookup;
        }
      }
    }
    return this.refresh(slug, cached?.value);
  }

  /** An entry changed (or was removed) in the route table. */
  invalidate(slug: string, generation: number): void {
    this.raiseSeen(slug, generation);
    const cached = this.cache.get(slug);
    if (cached !== undefined) {
      // An older generation can never be served again, not even stale.
      if (cached.value.generation < generation) this.cache.delete(slug);
      else cached.value.invalidated = true;
    }
    const inflight = this.inflight.get(slug);
    if (inflight !== undefined) inflight.superseded = true;
  }

  /** Invalidations may have been missed (pub/sub reconnect): every entry must be asked again. */
  invalidateAll(): void {
    for (const { value } of this.cache.values()) value.invalidated = true;
    for (const inflight of this.inflight.values()) inflight.superseded = true;
  }

  private refresh(slug: string, fallback: CachedRoute | undefined): Promise<RouteLookup> {
    const running = this.inflight.get(slug);
    if (running !== undefined) return running.promise;
    const inflight: Inflight = { promise: undefined as never, superseded: false };
    inflight.promise = this.fetch(slug, fallback, inflight).finally(() => {
      if (this.inflight.get(slug) === inflight) this.inflight.delete(slug);
    });
    this.inflight.set(slug, inflight);
    return inflight.promise;
  }

  private async fetch(
    slug: string,
    fallback: CachedRoute | undefined,
    inflight: Inflight,
  ): Promise<RouteLookup> {
    let entry: RouteEntry | undefined;
    try {
      entry = await this.deps.source.get(slug);
    } catch (error) {
      this.deps.metrics.routeStoreErrors.value++;
      this.deps.onError?.('route lookup failed', error);
      return this.serveStale(slug, fallback);
    }
    const seen = this.seen.get(slug)?.value ?? -1;
    if (entry !== undefined && entry.generation < seen) {
      // The store answered with a generation older than one announced: a lagging read. Refuse
      // rather than risk the previous backend; the next request asks again.
      this.noTenant.cacheResult('miss');
      return { kind: 'unavailable', status: 503, metrics: this.noTenant };
    }
    let record: CachedRoute;
    try {
      record = await this.build(slug, entry);
    } catch (error) {
      this.deps.onError?.('route entry unusable', error);
      return { kind: 'unavailable', status: 502, metrics: this.noTenant };
    }
    record.lookup.metrics.cacheResult('miss');
    if (!inflight.superseded) {
      const ttl = record.generation < 0 ? this.options.negativeTtlMs : this.options.positiveTtlMs;
      this.cache.set(slug, record, ttl);
    }
    return record.lookup;
  }

  private serveStale(slug: string, fallback: CachedRoute | undefined): RouteLookup {
    const seen = this.seen.get(slug)?.value ?? -1;
    if (fallback === undefined || fallback.generation < seen) {
      this.noTenant.cacheResult('miss');
      return { kind: 'unavailable', status: 503, metrics: this.noTenant };
    }
    fallback.stale = true;
    fallback.lookup.metrics.cacheResult('stale');
    // Kept (not invalidated) for a short while so requests do not each wait on a dead Redis;
    // after that one request tries Redis again.
    fallback.invalidated = false;
    this.cache.set(slug, fallback, Math.min(1_000, this.options.negativeTtlMs));
    return fallback.lookup;
  }

  private async build(slug: string, entry: RouteEntry | undefined): Promise<CachedRoute> {
    if (entry === undefined) {
      // Postgres being down must not turn a plain miss into an error page.
      const provisioning = this.deps.orgProvisioning
        ? await this.deps.orgProvisioning(slug).catch(() => false)
        : false;
      const lookup: RouteLookup = provisioning
        ? { kind: 'provisioning', slug, metrics: this.deps.metrics.tenant(slug) }
        : this.missing;
      return { lookup, generation: -1, invalidated: false, stale: false };
    }
    this.raiseSeen(slug, entry.generation);
    const metrics = this.deps.metrics.tenant(slug);
    if (entry.status !== 'running') {
      return {
        lookup: { kind: 'provisioning', slug, metrics },
        generation: entry.generation,
        invalidated: false,
        stale: false,
      };
    }
    const token = await this.deps.decryptCredential(entry.orgId, entry.credential);
    const route: ActiveRoute = {
      kind: 'running',
      slug,
      orgId: entry.orgId,
      generation: entry.generation,
      target: {
        protocol: entry.protocol,
        address: entry.address,
        port: entry.port,
        tlsFingerprint: entry.tlsFingerprint,
      },
      upstream: this.deps.pools.get(entry),
      authorization: `Bearer ${token}`,
      token,
      metrics,
    };
    return { lookup: route, generation: entry.generation, invalidated: false, stale: false };
  }

  private raiseSeen(slug: string, generation: number): void {
    const current = this.seen.get(slug)?.value ?? -1;
    if (generation > current) this.seen.set(slug, generation, Number.MAX_SAFE_INTEGER / 2, 0);
  }
}
