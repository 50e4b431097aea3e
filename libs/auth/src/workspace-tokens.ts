import { generateToken, hashToken, tokenDisplayPrefix } from '@molecule/crypto';
import { WorkspaceToken, WorkspaceTokenKind } from '@molecule/database';
import { IsNull, type DataSource, type EntityManager } from 'typeorm';
import { TOKEN_PREFIX } from './credentials.service';

/**
 * Workspace credentials (SPEC §5.3). The provisioner issues a single-use, short-lived bootstrap
 * token at launch; the registry exchanges it once for a session token. Both sides share the
 * database, so this is a library both call rather than an RPC between services. Only hashes are
 * stored.
 */
export class WorkspaceTokens {
  constructor(private readonly dataSource: DataSource) {}

  /** A fresh bootstrap token for one launch; any unused earlier one stops working. */
  async issueBootstrap(
    workspaceId: string,
    operationId: string,
    ttlSeconds: number,
  ): Promise<string> {
    const token = generateToken(TOKEN_PREFIX.workspaceBootstrap);
    await this.dataSource.transaction(async (tx) => {
      await this.revoke(tx, workspaceId, WorkspaceTokenKind.Bootstrap);
      await tx.save(WorkspaceToken, {
        workspaceId,
        kind: WorkspaceTokenKind.Bootstrap,
        tokenHash: hashToken(token),
        displayPrefix: tokenDisplayPrefix(token),
        operationId,
        expiresAt: new Date(Date.now() + ttlSeconds * 1000),
      });
    });
    return token;
  }

  /**
   * Spends a bootstrap token (atomically: of two concurrent exchanges one wins) and returns a new
   * session token; earlier sessions of the workspace are revoked. Undefined when the token was
   * already used, revoked or expired.
   */
  async exchange(bootstrapTokenId: string, workspaceId: string): Promise<string | undefined> {
    return this.dataSource.transaction(async (tx) => {
      const spent = await tx
        .createQueryBuilder()
        .update(WorkspaceToken)
        .set({ usedAt: () => 'now()' })
        .where('id = :id AND workspace_id = :workspaceId AND kind = :kind', {
          id: bootstrapTokenId,
          workspaceId,
          kind: WorkspaceTokenKind.Bootstrap,
        })
        .andWhere('used_at IS NULL AND revoked_at IS NULL AND expires_at > now()')
        .execute();
      if (!spent.affected) return undefined;
      await this.revoke(tx, workspaceId, WorkspaceTokenKind.Session);
      return this.issueSession(tx, workspaceId);
    });
  }

  /** Replaces a session token with a new one. */
  async rotate(sessionTokenId: string, workspaceId: string): Promise<string | undefined> {
    return this.dataSource.transaction(async (tx) => {
      const revoked = await tx.update(
        WorkspaceToken,
        { id: sessionTokenId, workspaceId, kind: WorkspaceTokenKind.Session, revokedAt: IsNull() },
        { revokedAt: new Date() },
      );
      if (!revoked.affected) return undefined;
      return this.issueSession(tx, workspaceId);
    });
  }

  /** Every token of the workspace stops working (delete, re-provision). */
  async revokeAll(
    workspaceId: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<number> {
    const result = await manager.update(
      WorkspaceToken,
      { workspaceId, revokedAt: IsNull() },
      { revokedAt: new Date() },
    );
    return result.affected ?? 0;
  }

  private async revoke(tx: EntityManager, workspaceId: string, kind: WorkspaceTokenKind) {
    await tx.update(
      WorkspaceToken,
      { workspaceId, kind, revokedAt: IsNull() },
      { revokedAt: new Date() },
    );
  }

  private async issueSession(tx: EntityManager, workspaceId: string): Promise<string> {
    const token = generateToken(TOKEN_PREFIX.workspaceSession);
    await tx.save(WorkspaceToken, {
      workspaceId,
      kind: WorkspaceTokenKind.Session,
      tokenHash: hashToken(token),
      displayPrefix: tokenDisplayPrefix(token),
    });
    return token;
  }
}
