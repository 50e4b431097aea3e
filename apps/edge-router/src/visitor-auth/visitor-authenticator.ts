import type { Principal } from '@molecule/auth';
import { hash as digest } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ResolvedEdgeRouterOptions } from '../edge-router.options';
import type { EdgeMetrics, Series } from '../metrics/edge-metrics';
import { TtlLru } from '../routing/ttl-lru';
import { cookieValue } from './session-cookie';

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
 * The session-cookie half of visitor auth (`OrgSessions`): it says whose session a cookie holds;
 * the authenticator checks that the org matches the host's.
 */
export interface SessionCookieVerifier {
  /** The cookies that may hold a session, in order of preference. */
  readonly cookieNames: readonly string[];
  /** Undefined for an unknown, expired or revoked session; rejects when it cannot be checked. */
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

type Allowed = Extract<VisitorDecision, { kind: 'allowed' }>;

/**
 * A cached key lookup: the decision for its own org (built once, so a cached check allocates
 * nothing), `null` for a valid credential that is not an org key, `false` for an unknown key
 * (cached for the shorter negative TTL).
 */
type KnownKey = Allowed | null | false;
type AuthResult = 'cached' | 'looked_up' | 'session' | 'missing' | 'rejected' | 'forbidden';

/**
 * Checks the visitor's credential before the tenant credential is injected. Org API keys come in
 * `Authorization: Bearer mol_ok_…` or `X-Api-Key`; a positive lookup is cached in-process for a
 * short TTL (default 15 s) in a bounded LRU keyed by the key's SHA-256, so the hot path is not a
 * Postgres query per request. The cost: a revoked key keeps working on each router for at most
 * that TTL. Concurrent lookups of one key share a single query. Without a key, a session cookie
 * (browsers, after a sign-in link from the api) is checked through `cookies`; a key wins when
 * both are present.
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
      session: series('session'),
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
        return this.checkCookie(this.cookies, headers.cookie, orgId);
      }
      this.counts.missing.value++;
      return MISSING;
    }
    if (!token.startsWith(ORG_KEY_PREFIX)) {
      // Not an org key (a partner key, the admin token, garbage): never worth a query here.
      this.counts.rejected.value++;
      return REJECTED;
    }
    // One-shot hashing: no Hash object per request.
    const hash = digest('sha256', token, 'base64');
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
    if (known === null || known.visitor.orgId !== orgId) {
      this.counts.forbidden.value++;
      return FORBIDDEN;
    }
    return known;
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
                    kind: 'allowed',
                    visitor: {
                      orgId: principal.orgId,
                      role: principal.role,
                      via: `org-key:${principal.keyId}`,
                    },
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

  private checkCookie(
    cookies: SessionCookieVerifier,
    header: string,
    orgId: string,
  ): VisitorDecision | Promise<VisitorDecision> {
    const value = cookieValue(header, cookies.cookieNames);
    if (value === undefined) {
      this.counts.missing.value++;
      return MISSING;
    }
    return cookies.verify(value).then(
      (visitor) => {
        if (visitor !== undefined && visitor.orgId === orgId) this.counts.session.value++;
        return this.decide(visitor === undefined ? false : { kind: 'allowed', visitor }, orgId);
      },
      // Redis or Postgres could not say: "try again", not "sign in again".
      () => UNAVAILABLE,
    );
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
