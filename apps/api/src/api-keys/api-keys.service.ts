import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService, PLATFORM_CHAIN } from '@molecule/audit';
import {
  actorOf,
  CredentialsService,
  roleSatisfies,
  TOKEN_PREFIX,
  type Principal,
} from '@molecule/auth';
import { generateToken, hashToken, tokenDisplayPrefix } from '@molecule/crypto';
import { ApiKey, ApiKeyKind, type Org } from '@molecule/database';
import { IsNull, type DataSource } from 'typeorm';
import type { CreateOrgKeyDto, CreatePartnerKeyDto } from './api-key.dto';

/** What is ever shown of a key: never its hash, and its token only once, at creation. */
export function keyView(key: ApiKey) {
  return {
    id: key.id,
    kind: key.kind,
    name: key.name,
    prefix: key.displayPrefix,
    role: key.role,
    scopes: key.scopes,
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt?.toISOString() ?? null,
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

@Injectable()
export class ApiKeysService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly credentials: CredentialsService,
  ) {}

  async createPartnerKey(dto: CreatePartnerKeyDto, principal: Principal) {
    const token = generateToken(TOKEN_PREFIX.partnerKey);
    return this.dataSource.transaction(async (tx) => {
      const key = await tx.save(ApiKey, {
        kind: ApiKeyKind.Partner,
        orgId: null,
        role: null,
        scopes: dto.scopes,
        name: dto.name,
        tokenHash: hashToken(token),
        displayPrefix: tokenDisplayPrefix(token),
        expiresAt: dto.expiresAt ?? null,
      });
      await this.audit.append(
        {
          chain: PLATFORM_CHAIN,
          actor: actorOf(principal),
          action: 'partner-key.create',
          target: `api-key:${key.id}`,
          data: { scopes: dto.scopes },
        },
        tx,
      );
      return { key: keyView(key), token };
    });
  }

  async listPartnerKeys() {
    const keys = await this.dataSource
      .getRepository(ApiKey)
      .find({ where: { kind: ApiKeyKind.Partner }, order: { createdAt: 'DESC' } });
    return { keys: keys.map(keyView) };
  }

  async revokePartnerKey(id: string, principal: Principal): Promise<void> {
    await this.revoke({ id, kind: ApiKeyKind.Partner }, PLATFORM_CHAIN, principal);
  }

  /** A caller can only mint keys no stronger than its own role (the admin token: any). */
  async createOrgKey(org: Org, dto: CreateOrgKeyDto, principal: Principal) {
    if (principal.kind === 'org-key' && !roleSatisfies(principal.role, dto.role)) {
      throw new ForbiddenException(`A ${principal.role} key cannot create an ${dto.role} key`);
    }
    const token = generateToken(TOKEN_PREFIX.orgKey);
    return this.dataSource.transaction(async (tx) => {
      const key = await tx.save(ApiKey, {
        kind: ApiKeyKind.Org,
        orgId: org.id,
        role: dto.role,
        scopes: [],
        name: dto.name,
        tokenHash: hashToken(token),
        displayPrefix: tokenDisplayPrefix(token),
        expiresAt: dto.expiresAt ?? null,
      });
      await this.audit.append(
        {
          chain: org.id,
          actor: actorOf(principal),
          action: 'api-key.create',
          target: `api-key:${key.id}`,
          data: { role: dto.role },
        },
        tx,
      );
      return { key: keyView(key), token };
    });
  }

  async listOrgKeys(org: Org) {
    const keys = await this.dataSource
      .getRepository(ApiKey)
      .find({ where: { orgId: org.id, kind: ApiKeyKind.Org }, order: { createdAt: 'DESC' } });
    return { keys: keys.map(keyView) };
  }

  async revokeOrgKey(org: Org, id: string, principal: Principal): Promise<void> {
    await this.revoke({ id, orgId: org.id, kind: ApiKeyKind.Org }, org.id, principal);
  }

  private async revoke(
    where: { id: string; kind: ApiKeyKind; orgId?: string },
    chain: string,
    principal: Principal,
  ) {
    const revoked = await this.dataSource.transaction(async (tx) => {
      const key = await tx.findOneBy(ApiKey, where);
      if (!key) throw new NotFoundException('No such key');
      if (key.revokedAt) return key.id;
      await tx.update(ApiKey, { id: key.id, revokedAt: IsNull() }, { revokedAt: new Date() });
      await this.audit.append(
        {
          chain,
          actor: actorOf(principal),
          action: `${key.kind === ApiKeyKind.Partner ? 'partner-key' : 'api-key'}.revoke`,
          target: `api-key:${key.id}`,
        },
        tx,
      );
      return key.id;
    });
    // This process stops trusting the key at once; other replicas within API_KEY_CACHE_SECONDS.
    this.credentials.forgetApiKey(revoked);
  }
}
