import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@molecule/audit';
import { actorOf, type Principal } from '@molecule/auth';
import { EnvelopeCipher } from '@molecule/crypto';
import { SecretValue, Workspace, WorkspaceStatus, type Org } from '@molecule/database';
import { SECRET_NAME } from '@molecule/runtimes';
import { IsNull, Not, type DataSource, type EntityManager } from 'typeorm';

/** Names the boot contract sets itself; a secret may not shadow them. */
const RESERVED =
  /^(MOLECULE_.*|PORT|HOST|PATH|NODE_OPTIONS|WORKSPACE_BOOTSTRAP_TOKEN|TENANT_ADMIN_TOKEN)$/;

export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new BadRequestException(
      'A secret name is 1–128 of A–Z, 0–9 and _, starting with a letter',
    );
  }
  if (RESERVED.test(name)) throw new BadRequestException(`${name} is reserved by the runtime`);
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

/** Secrets travel as env-file lines: no line breaks or control characters. */
export function assertSecretValue(name: string, value: string): void {
  if (value.length === 0 || value.length > 65_536 || CONTROL.test(value)) {
    throw new BadRequestException(
      `The value of ${name} must be 1–65536 characters without line breaks or control characters`,
    );
  }
}

/** The key version is the second field of the envelope format `v1.<version>.…`. */
function keyVersionOf(ciphertext: string): number {
  return Number(ciphertext.split('.')[1]);
}

/** Org- and workspace-scoped secrets: encrypted with the org's data key, listed by name only. */
@Injectable()
export class SecretsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditService,
  ) {}

  async put(
    org: Org,
    name: string,
    value: string,
    workspaceId: string | undefined,
    principal: Principal,
  ) {
    assertSecretName(name);
    assertSecretValue(name, value);
    if (workspaceId) await this.assertWorkspace(org, workspaceId);
    const ciphertext = await this.cipher.encrypt(org.id, value);
    await this.dataSource.transaction(async (tx) => {
      await this.write(tx, org.id, workspaceId ?? null, name, ciphertext);
      await this.audit.append(
        {
          chain: org.id,
          actor: actorOf(principal),
          action: 'secret.put',
          target: `secret:${name}`,
          data: { workspaceId: workspaceId ?? null },
        },
        tx,
      );
    });
    return { name, workspaceId: workspaceId ?? null };
  }

  /** Inside a caller's transaction (workspace creation writes its secrets with it). */
  async write(
    tx: EntityManager,
    orgId: string,
    workspaceId: string | null,
    name: string,
    ciphertext: string,
  ) {
    const where = { orgId, name, workspaceId: workspaceId ?? IsNull() };
    const existing = await tx.findOneBy(SecretValue, where);
    const keyVersion = keyVersionOf(ciphertext);
    if (existing) await tx.update(SecretValue, { id: existing.id }, { ciphertext, keyVersion });
    else await tx.save(SecretValue, { orgId, workspaceId, name, ciphertext, keyVersion });
  }

  async list(org: Org, workspaceId?: string) {
    const rows = await this.dataSource.getRepository(SecretValue).find({
      select: { name: true, workspaceId: true, updatedAt: true },
      where: { orgId: org.id, workspaceId: workspaceId ?? IsNull() },
      order: { name: 'ASC' },
    });
    return {
      secrets: rows.map((r) => ({
        name: r.name,
        workspaceId: r.workspaceId,
        updatedAt: r.updatedAt.toISOString(),
      })),
    };
  }

  async remove(org: Org, name: string, workspaceId: string | undefined, principal: Principal) {
    assertSecretName(name);
    await this.dataSource.transaction(async (tx) => {
      const result = await tx.delete(SecretValue, {
        orgId: org.id,
        name,
        workspaceId: workspaceId ?? IsNull(),
      });
      if (!result.affected) throw new NotFoundException(`No secret ${name}`);
      await this.audit.append(
        {
          chain: org.id,
          actor: actorOf(principal),
          action: 'secret.delete',
          target: `secret:${name}`,
          data: { workspaceId: workspaceId ?? null },
        },
        tx,
      );
    });
  }

  /** Names available to a workspace: the org's, plus its own. */
  async namesFor(orgId: string, workspaceId?: string): Promise<string[]> {
    const rows = await this.dataSource.getRepository(SecretValue).find({
      select: { name: true },
      where: [{ orgId, workspaceId: IsNull() }, ...(workspaceId ? [{ orgId, workspaceId }] : [])],
    });
    return rows.map((r) => r.name);
  }

  private async assertWorkspace(org: Org, workspaceId: string) {
    const exists = await this.dataSource
      .getRepository(Workspace)
      .existsBy({ id: workspaceId, orgId: org.id, status: Not(WorkspaceStatus.Deleted) });
    if (!exists) throw new NotFoundException('No such workspace in this org');
  }
}
