import type { Principal } from '@molecule/auth';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ResolvedEdgeRouterOptions } from '../edge-router.options';
import type { EdgeMetrics, Series } from '../metrics/edge-metrics';
import { TtlLru } from '../routing/ttl-lru';

/** Who the visitor is, as far as the tenant needs to know. */
export interface Visitor {
  readonly orgId: string;
  readonly role: string;
  /** How the visitor proved it: the key id (never the key) or the session. */
  readonly via: string;
}

export type VisitorDecision =
  | { readonly kind: 'allowed'; readonly visitor: Visitor }
  /** No credential at all: 401. */
  | { readonly kind: 'missing' }
  /** A credential that is unknown, expired, revoked or malformed: 401. */
  | { readonly kind: 'rejected' }
  /** A valid credential that does not open this org (another org's key, a partner key): 403. */
  | { readonly kind: 'forbidden' }
  /** The credential could not be checked (Postgres unreachable): 503. */
  | { readonly kind: 'unavailable' };

/**
 * The session-cookie half of visitor auth, plugged in once the API issues org sessions. It reads
 * one cookie and says whose session it is; the router checks that the org matches.
 */
export interface SessionCookieVerifier {
  readonly cookieName: string;
  verify(value: string): Promise<Visitor | undefined>;
}

/** The org API key lookup (`CredentialsService.authenticate` in the service). */
export type KeyAuthenticator = (token: string) => Promise<Principal | undefined>;

const ORG_KEY_PREFIX = 'mol_ok_';
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MISSING: VisitorDecision = { kind: 'missing' };
const REJECTED: VisitorDecision = { kind: 'rejected' };
const FORBIDDEN: VisitorDecision = { kind: 'forbidden' };
const UNAVAILABLE: VisitorDecision = { kind: 'unavailable' };

/**
 * A cached key lookup: the visitor it stands for, `null` for a valid credential that is not an
 * org key, `false` for an unknown key (cached for the shorter negative TTL).
 */
type KnownKey = Visitor | null | false;
type AuthResult = 'cached' | 'looked_up' | 'missing' | 'rejected' | 'forbidden';

/**
 * Checks the visitor's credential before the tenant credential is injected. Org API keys come in
 * `Authorization: Bearer mol_ok_…` or `X-Api-Key`; a positive lookup is cached in-process for a
 * short TTL (default 15 s) in a bounded LRU keyed by the key's SHA-256, so the hot path is not a
 * Postgres query per request. The cost: a revoked key keeps working on each router for at most
 * that TTL. Concurrent lookups of one key share a single query.
 */
export class VisitorAuthenticator {
  private readonly known: TtlLru<string, KnownKey>;
  private readonly pending = new Map<string, Promise<KnownKey | undefined>>();
  private readonly counts: Record<AuthResult, Series>;

  constructor(
    private readonly authenticate: KeyAuthenticator,
    private readonly options: ResolvedEdgeRouterOptions['visitorAuth'],
    metrics: EdgeMetrics,
    private readonly cookies?: SessionCookieVerifier,
  ) {
    this.known = new TtlLru(options.maxEntries);
    const series = (result: AuthResult) => metrics.visitorAuth.child({ result });
    this.counts = {
      cached: series('cached'),
      looked_up: series('looked_up'),
      missing: series('missing'),
      rejected: series('rejected'),
      forbidden: series('forbidden'),
    };
  }

  /** Synchronous when the key is cached (the common case), otherwise a promise. */
  check(headers: IncomingHttpHeaders, orgId: string): VisitorDecision | Promise<VisitorDecision> {
    const token = presentedKey(headers);
    if (token === undefined) {
      if (this.cookies !== undefined && headers.cookie !== undefined) {
        return this.checkCookie(headers.cookie, orgId);
      }
      this.counts.missing.value++;
      return MISSING;
    }
    if (!token.startsWith(ORG_KEY_PREFIX)) {
      // Not an org key (a partner key, the admin token, garbage): never worth a query here.
      this.counts.rejected.value++;
      return REJECTED;
    }
    const hash = createHash('sha256').update(token).digest('base64');
    const cached = this.known.get(hash);
    if (cached !== undefined && cached.expiresAt > Date.now()) {
      this.counts.cached.value++;
      return this.decide(cached.value, orgId);
    }
    return this.lookUp(token, hash).then((known) => {
      this.counts.looked_up.value++;
      return known === undefined ? UNAVAILABLE : this.decide(known, orgId);
    });
  }

  /** Forgets every cached key (tests, or an operator reacting to a leaked key). */
  clear(): void {
    this.known.clear();
  }

  private decide(known: KnownKey, orgId: string): VisitorDecision {
    if (known === false) {
      this.counts.rejected.value++;
      return REJECTED;
    }
    if (known === null || known.orgId !== orgId) {
      this.counts.forbidden.value++;
      return FORBIDDEN;
    }
    return { kind: 'allowed', visitor: known };
  }

  /** `undefined` when the lookup failed (Postgres down); that is not cached. */
  private lookUp(token: string, hash: string): Promise<KnownKey | undefined> {
    let pending = this.pending.get(hash);
    if (pending === undefined) {
      pending = this.authenticate(token)
        .then(
          (principal): KnownKey => {
            if (principal === undefined) {
              this.known.set(hash, false, this.options.negativeTtlMs);
              return false;
            }
            const known: KnownKey =
              principal.kind === 'org-key'
                ? {
                    orgId: principal.orgId,
                    role: principal.role,
                    via: `org-key:${principal.keyId}`,
                  }
                : null;
            this.known.set(hash, known, this.options.positiveTtlMs);
            return known;
          },
          () => undefined,
        )
        .finally(() => this.pending.delete(hash));
      this.pending.set(hash, pending);
    }
    return pending;
  }

  private async checkCookie(header: string, orgId: string): Promise<VisitorDecision> {
    const value = cookieValue(header, this.cookies!.cookieName);
    if (value === undefined) {
      this.counts.missing.value++;
      return MISSING;
    }
    const visitor = await this.cookies!.verify(value).catch(() => undefined);
    return this.decide(visitor ?? false, orgId);
  }
}

/** The org key the visitor presented, from `Authorization: Bearer` or `X-Api-Key`. */
function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    // A malformed Authorization header is a (bad) credential, not an absent one.
    return BEARER.exec(authorization)?.[1] ?? '';
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string') return apiKey.trim();
  if (Array.isArray(apiKey)) return '';
  return undefined;
}

function cookieValue(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
