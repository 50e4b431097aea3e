import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ApiKey, Org, WorkspaceToken } from '@molecule/database';
import {
  createOrg,
  createOrgKey,
  createPartnerKey,
  createTestDatabase,
  createTestRedisPrefix,
  eventually,
  testConfig,
  type TestDatabase,
} from '@molecule/testing';
import { CredentialsService } from './credentials.service';

describe('CredentialsService: API keys from memory', () => {
  let db: TestDatabase;
  let credentials: CredentialsService;
  let orgId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const ds = db.dataSource;
    credentials = new CredentialsService(
      testConfig('api', db.url, createTestRedisPrefix().prefix),
      ds.getRepository(ApiKey),
      ds.getRepository(WorkspaceToken),
      ds.getRepository(Org),
    );
    orgId = (await createOrg(ds)).id;
  });

  afterAll(async () => {
    await db?.drop();
  });

  const revokeInDatabase = (id: string) =>
    db.dataSource.getRepository(ApiKey).update({ id }, { revokedAt: new Date() });

  it('looks a key up once while it is cached, and forgets it when told to', async () => {
    const { token, key } = await createOrgKey(db.dataSource, orgId, 'member');
    const lookups = jest.spyOn(db.dataSource.getRepository(ApiKey), 'findOne');
    try {
      for (let i = 0; i < 3; i++) {
        await expect(credentials.authenticate(token, { apiKeySeconds: 5 })).resolves.toEqual({
          kind: 'org-key',
          keyId: key.id,
          orgId,
          role: 'member',
        });
      }
      expect(lookups).toHaveBeenCalledTimes(1);
      // Revoked by another replica: trusted until the entry ages out (the documented trade-off)…
      await revokeInDatabase(key.id);
      await expect(credentials.authenticate(token, { apiKeySeconds: 5 })).resolves.toBeDefined();
      // …or at once where the revocation was made.
      credentials.forgetApiKey(key.id);
      await expect(credentials.authenticate(token, { apiKeySeconds: 5 })).resolves.toBeUndefined();
    } finally {
      lookups.mockRestore();
    }
  });

  it('asks Postgres again once the entry is older than apiKeySeconds', async () => {
    const { token, key } = await createPartnerKey(db.dataSource, ['orgs:read']);
    await expect(credentials.authenticate(token, { apiKeySeconds: 0.2 })).resolves.toMatchObject({
      kind: 'partner-key',
    });
    await revokeInDatabase(key.id);
    await eventually('the revoked key to be refused', async () =>
      (await credentials.authenticate(token, { apiKeySeconds: 0.2 })) === undefined
        ? true
        : undefined,
    );
  });

  it('never trusts a cached key past its own expiry', async () => {
    const { token } = await createOrgKey(db.dataSource, orgId, 'viewer', {
      expiresAt: new Date(Date.now() + 400),
    });
    await expect(credentials.authenticate(token, { apiKeySeconds: 60 })).resolves.toBeDefined();
    await eventually('the expired key to be refused', async () =>
      (await credentials.authenticate(token, { apiKeySeconds: 60 })) === undefined
        ? true
        : undefined,
    );
  });

  it('looks every key up without caching, and never caches an unknown one', async () => {
    const { token, key } = await createOrgKey(db.dataSource, orgId, 'viewer');
    await expect(credentials.authenticate(token)).resolves.toBeDefined();
    await revokeInDatabase(key.id);
    await expect(credentials.authenticate(token)).resolves.toBeUndefined();

    const { token: later, key: laterKey } = await createOrgKey(db.dataSource, orgId, 'viewer');
    await revokeInDatabase(laterKey.id);
    await expect(credentials.authenticate(later, { apiKeySeconds: 5 })).resolves.toBeUndefined();
    await db.dataSource.getRepository(ApiKey).update({ id: laterKey.id }, { revokedAt: null });
    await expect(credentials.authenticate(later, { apiKeySeconds: 5 })).resolves.toBeDefined();
  });
});
