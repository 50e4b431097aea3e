import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import { hashToken, tokensEqual } from '@molecule/crypto';
import {
  ApiKey,
  ApiKeyKind,
  Org,
  OrgStatus,
  WorkspaceStatus,
  WorkspaceToken,
  WorkspaceTokenKind,
} from '@molecule/database';
import { IsNull, Not, type Repository } from 'typeorm';
import type { Principal } from './principal';

/** Token prefixes tell which table to look in; the hash decides whether the token is real. */
export const TOKEN_PREFIX = {
  orgKey: 'mol_ok',
  partnerKey: 'mol_pk',
  workspaceSession: 'mol_ws',
  workspaceBootstrap: 'mol_wb',
} as const;

const GONE = new Set<string>([WorkspaceStatus.Deleting, WorkspaceStatus.Deleted]);

/** `last_used_at` is written at most this often per key, so reads do not become writes. */
const LAST_USED_RESOLUTION_MS = 60_000;

const CACHE_SIZE = 50_000;

/** A verified credential and, for an API key with one, its expiry (ms since the epoch). */
interface Verified {
  principal: Principal;
  expiresAt?: number;
}

/** How long `authenticate` may answer from memory, by kind of token (0 or unset: never). */
export interface CredentialCaching {
  /** Workspace session tokens (hot routes: heartbeats). */
  sessionSeconds?: number;
  /** Org and partner API keys. */
  apiKeySeconds?: number;
}

@Injectable()
export class CredentialsService {
  /** Verified tokens by SHA-256: positive answers only, so an unknown token is always looked up. */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectRepository(ApiKey) private readonly apiKeys: Repository<ApiKey>,
    @InjectRepository(WorkspaceToken) private readonly workspaceTokens: Repository<WorkspaceToken>,
    @InjectRepository(Org) private readonly orgs: Repository<Org>,
  ) {}

  /**
   * The principal a bearer token stands for, or undefined when it is unknown, revoked or
   * expired. With `caching`, a token of that kind verified that recently is taken from memory
   * (revocation then takes effect within that many seconds, except through `forgetApiKey`).
   */
  async authenticate(
    token: string,
    caching: CredentialCaching = {},
  ): Promise<Principal | undefined> {
    const admin = this.config.platformAdminToken.reveal();
    if (admin && tokensEqual(token, admin)) return { kind: 'platform-admin' };
    if (
      token.startsWith(`${TOKEN_PREFIX.orgKey}_`) ||
      token.startsWith(`${TOKEN_PREFIX.partnerKey}_`)
    ) {
      return this.cached(token, caching.apiKeySeconds, () => this.apiKey(token));
    }
    if (token.startsWith(`${TOKEN_PREFIX.workspaceSession}_`)) {
      return this.cached(token, caching.sessionSeconds, async () => {
        const principal = await this.workspaceToken(token, WorkspaceTokenKind.Session);
        return principal && { principal };
      });
    }
    if (token.startsWith(`${TOKEN_PREFIX.workspaceBootstrap}_`)) {
      return this.workspaceToken(token, WorkspaceTokenKind.Bootstrap);
    }
    return undefined;
  }

  /** Drops an API key from this process's cache (its revocation, made here, counts at once). */
  forgetApiKey(keyId: string): void {
    for (const [hash, entry] of this.verified) {
      const principal = entry.principal;
      if (
        (principal.kind === 'org-key' || principal.kind === 'partner-key') &&
        principal.keyId === keyId
      ) {
        this.verified.delete(hash);
      }
    }
  }

  /** The id of the live org with this slug, if any. */
  async orgIdBySlug(slug: string): Promise<string | undefined> {
    const org = await this.orgs.findOne({
      select: { id: true },
      where: { slug, status: Not(OrgStatus.Deleted) },
    });
    return org?.id;
  }

  private async apiKey(token: string): Promise<Verified | undefined> {
    const key = await this.apiKeys.findOne({
      where: { tokenHash: hashToken(token), revokedAt: IsNull() },
    });
    const expiresAt = key?.expiresAt?.getTime();
    if (!key || (expiresAt !== undefined && expiresAt <= Date.now())) return undefined;
    this.touch(key);
    if (key.kind === ApiKeyKind.Partner) {
      return { principal: { kind: 'partner-key', keyId: key.id, scopes: key.scopes }, expiresAt };
    }
    if (!key.orgId || !key.role) return undefined;
    return {
      principal: { kind: 'org-key', keyId: key.id, orgId: key.orgId, role: key.role },
      expiresAt,
    };
  }

  private async workspaceToken(
    token: string,
    kind: WorkspaceTokenKind,
  ): Promise<Principal | undefined> {
    // One indexed lookup with its workspace (TypeORM's findOne with a relation costs two).
    const row = await this.workspaceTokens
      .createQueryBuilder('t')
      .innerJoin('t.workspace', 'w')
      .select(['t.id AS id', 't.workspace_id AS "workspaceId"', 'w.org_id AS "orgId"'])
      .where('t.token_hash = :hash AND t.kind = :kind AND t.revoked_at IS NULL', {
        hash: hashToken(token),
        kind,
      })
      // A bootstrap token is good once; expired tokens are no good.
      .andWhere('t.used_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())')
      // Deletion marks the workspace first, so a late caller is refused even before its tokens are.
      .andWhere('w.status NOT IN (:...gone)', { gone: [...GONE] })
      .getRawOne<{ id: string; workspaceId: string; orgId: string }>();
    if (!row) return undefined;
    return {
      kind: kind === WorkspaceTokenKind.Session ? 'workspace-token' : 'workspace-bootstrap',
      tokenId: row.id,
      workspaceId: row.workspaceId,
      orgId: row.orgId,
    };
  }

  /** `lookup`'s answer, or a cached one up to `seconds` old (never past the token's expiry). */
  private async cached(
    token: string,
    seconds: number | undefined,
    lookup: () => Promise<Verified | undefined>,
  ): Promise<Principal | undefined> {
    if (seconds === undefined || seconds <= 0) return (await lookup())?.principal;
    const hash = hashToken(token);
    const hit = this.verified.get(hash);
    if (hit && hit.until > Date.now()) return hit.principal;
    const found = await lookup();
    this.verified.delete(hash);
    if (!found) return undefined;
    // Bounded: drop the oldest entry (Map keeps insertion order) once full.
    if (this.verified.size >= CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    const until = Math.min(Date.now() + seconds * 1000, found.expiresAt ?? Infinity);
    this.verified.set(hash, { principal: found.principal, until });
    return found.principal;
  }

  private touch(key: ApiKey): void {
    if (key.lastUsedAt && Date.now() - key.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    // Best effort: a failed bookkeeping write must not fail the request it rides on.
    this.apiKeys.update({ id: key.id }, { lastUsedAt: new Date() }).catch(() => undefined);
  }
}
