import { TOKEN_PREFIX } from '@molecule/auth';
import { generateToken, hashToken, tokenDisplayPrefix } from '@molecule/crypto';
import {
  ApiKey,
  ApiKeyKind,
  Org,
  OrgStatus,
  Workspace,
  WorkspaceStatus,
  WorkspaceToken,
  WorkspaceTokenKind,
  type OrgRole,
  type PartnerScope,
} from '@molecule/database';
import type { DataSource } from 'typeorm';
import { uniqueTag } from './infrastructure';

export async function createOrg(dataSource: DataSource, fields: Partial<Org> = {}): Promise<Org> {
  const slug = fields.slug ?? `org-${uniqueTag()}`;
  return dataSource
    .getRepository(Org)
    .save({ slug, name: slug, status: OrgStatus.Running, createdBy: 'platform-admin', ...fields });
}

export async function createWorkspace(
  dataSource: DataSource,
  orgId: string,
  fields: Partial<Workspace> = {},
): Promise<Workspace> {
  return dataSource.getRepository(Workspace).save({
    orgId,
    name: `ws-${uniqueTag()}`,
    runtime: 'reference',
    status: WorkspaceStatus.Online,
    ...fields,
  });
}

interface KeyOptions {
  expiresAt?: Date | null;
  revokedAt?: Date | null;
}

/** An org API key; returns the one-time plaintext token with the stored row. */
export async function createOrgKey(
  dataSource: DataSource,
  orgId: string,
  role: OrgRole,
  options: KeyOptions = {},
): Promise<{ token: string; key: ApiKey }> {
  const token = generateToken(TOKEN_PREFIX.orgKey);
  const key = await dataSource.getRepository(ApiKey).save({
    kind: ApiKeyKind.Org,
    orgId,
    role,
    scopes: [],
    name: 'test org key',
    tokenHash: hashToken(token),
    displayPrefix: tokenDisplayPrefix(token),
    ...options,
  });
  return { token, key };
}

export async function createPartnerKey(
  dataSource: DataSource,
  scopes: PartnerScope[],
  options: KeyOptions = {},
): Promise<{ token: string; key: ApiKey }> {
  const token = generateToken(TOKEN_PREFIX.partnerKey);
  const key = await dataSource.getRepository(ApiKey).save({
    kind: ApiKeyKind.Partner,
    orgId: null,
    role: null,
    scopes,
    name: 'test partner key',
    tokenHash: hashToken(token),
    displayPrefix: tokenDisplayPrefix(token),
    ...options,
  });
  return { token, key };
}

export async function createSessionToken(
  dataSource: DataSource,
  workspaceId: string,
  options: KeyOptions = {},
): Promise<{ token: string; row: WorkspaceToken }> {
  const token = generateToken(TOKEN_PREFIX.workspaceSession);
  const row = await dataSource.getRepository(WorkspaceToken).save({
    workspaceId,
    kind: WorkspaceTokenKind.Session,
    tokenHash: hashToken(token),
    displayPrefix: tokenDisplayPrefix(token),
    ...options,
  });
  return { token, row };
}
