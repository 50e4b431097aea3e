import { generateToken, hashToken } from '@molecule/crypto';
import type { KeyLiveness } from './key-liveness';
import { SESSION_COOKIES } from './session-cookie';
import type { SessionCookieVerifier, Visitor } from './visitor-authenticator';

/**
 * The Redis side of visitor sessions, shared with the api's `SessionTicketsService`
 * (apps/api/src/sessions), which writes the tickets this class redeems. Apps do not import each
 * other, so the contract is spelt out on both sides and exercised end to end by
 * `org-sessions.int-spec.ts`:
 *
 * - ticket `mol_st_…`: `<REDIS_PREFIX>:edge:ticket:<sha256 hex>` → `{orgId, keyId, role}`, with a
 *   TTL of at most 60 s, redeemed once (GETDEL);
 * - session `mol_vs_…`: `<REDIS_PREFIX>:edge:session:<sha256 hex>` → `{orgId, keyId, role,
 *   expiresAt}`, with the session TTL.
 *
 * Only hashes are keys: someone who can read Redis cannot sign in with what they read.
 */
export const TICKET_PREFIX = 'mol_st';
export const SESSION_PREFIX = 'mol_vs';
const TICKET = /^mol_st_[A-Za-z0-9_-]{43}$/;
const SESSION = /^mol_vs_[A-Za-z0-9_-]{43}$/;
const ROLES = new Set(['owner', 'admin', 'member', 'viewer']);

/** The few Redis commands sessions use (the router's fast-failing route connection). */
export interface SessionStore {
  get(key: string): Promise<string | null>;
  getdel(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'EX', seconds: number): Promise<unknown>;
  del(key: string): Promise<number>;
}

interface SessionRecord {
  orgId: string;
  keyId: string;
  role: string;
  expiresAt?: number;
}

export type TicketExchange =
  | { readonly kind: 'created'; readonly session: string; readonly maxAgeSeconds: number }
  /** Unknown, expired, already used, or its key was revoked since. */
  | { readonly kind: 'invalid' }
  /** A valid ticket for another org than this host's. */
  | { readonly kind: 'forbidden' };

const INVALID: TicketExchange = { kind: 'invalid' };
const FORBIDDEN: TicketExchange = { kind: 'forbidden' };

export class OrgSessions implements SessionCookieVerifier {
  readonly cookieNames = SESSION_COOKIES;

  constructor(
    private readonly store: SessionStore,
    private readonly redisPrefix: string,
    private readonly keys: KeyLiveness,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * The visitor a session cookie stands for, or undefined for an unknown, expired or orphaned
   * session (its key revoked). Throws when Redis or Postgres cannot answer.
   */
  async verify(value: string): Promise<Visitor | undefined> {
    if (!SESSION.test(value)) return undefined;
    const key = this.sessionKey(value);
    const record = parseRecord(await this.store.get(key));
    if (record === undefined || (record.expiresAt ?? 0) <= Date.now()) return undefined;
    if (!(await this.keys.isLive(record.keyId))) {
      await this.store.del(key).catch(() => undefined);
      return undefined;
    }
    return { orgId: record.orgId, role: record.role, via: `org-session:${record.keyId}` };
  }

  /**
   * Redeems a sign-in ticket on the host of `orgId` for a new session. The ticket is spent
   * whatever the outcome, so it can never be tried twice. Throws when Redis or Postgres cannot
   * answer.
   */
  async exchange(ticket: string, orgId: string): Promise<TicketExchange> {
    if (!TICKET.test(ticket)) return INVALID;
    const record = parseRecord(
      await this.store.getdel(`${this.redisPrefix}:edge:ticket:${hashToken(ticket)}`),
    );
    if (record === undefined) return INVALID;
    if (record.orgId !== orgId) return FORBIDDEN;
    // Asked afresh: a key revoked since the ticket was issued must not open a 12-hour session.
    if (!(await this.keys.isLive(record.keyId, true))) return INVALID;
    const session = generateToken(SESSION_PREFIX);
    const stored: SessionRecord = {
      orgId: record.orgId,
      keyId: record.keyId,
      role: record.role,
      expiresAt: Date.now() + this.ttlSeconds * 1000,
    };
    await this.store.set(this.sessionKey(session), JSON.stringify(stored), 'EX', this.ttlSeconds);
    return { kind: 'created', session, maxAgeSeconds: this.ttlSeconds };
  }

  /** Ends a session (logout). Unknown or malformed values are ignored. */
  async end(value: string): Promise<void> {
    if (SESSION.test(value)) await this.store.del(this.sessionKey(value));
  }

  private sessionKey(session: string): string {
    return `${this.redisPrefix}:edge:session:${hashToken(session)}`;
  }
}

function parseRecord(raw: string | null): SessionRecord | undefined {
  if (raw === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { orgId, keyId, role, expiresAt } = value as Record<string, unknown>;
  if (typeof orgId !== 'string' || typeof keyId !== 'string' || typeof role !== 'string') {
    return undefined;
  }
  if (!ROLES.has(role)) return undefined;
  if (expiresAt !== undefined && typeof expiresAt !== 'number') return undefined;
  return { orgId, keyId, role, expiresAt };
}
