import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DecryptionError, EnvelopeCipher, MasterKeyring, rotateMasterKey } from '@molecule/crypto';
import { createOrg, createTestDatabase, type TestDatabase } from '@molecule/testing';
import { randomBytes } from 'node:crypto';
import { PostgresDataKeyStore } from './data-key.store';
import { OrgDataKey } from './entities';

describe('PostgresDataKeyStore with envelope encryption', () => {
  let db: TestDatabase;
  let store: PostgresDataKeyStore;
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresDataKeyStore(db.dataSource);
  });

  afterAll(async () => {
    await db.drop();
  });

  it('creates one data key per org even under concurrent first use', async () => {
    const org = await createOrg(db.dataSource);
    const cipher = new EnvelopeCipher(store, new MasterKeyring({ current: oldKey }));
    await Promise.all(Array.from({ length: 10 }, (_, i) => cipher.encrypt(org.id, `value ${i}`)));
    expect(await db.dataSource.getRepository(OrgDataKey).countBy({ orgId: org.id })).toBe(1);
  });

  it('stores data keys only in wrapped form', async () => {
    const org = await createOrg(db.dataSource);
    const cipher = new EnvelopeCipher(store, new MasterKeyring({ current: oldKey }));
    await cipher.encrypt(org.id, 'x');
    const row = await db.dataSource.getRepository(OrgDataKey).findOneByOrFail({ orgId: org.id });
    expect(row.wrappedKey.length).toBeGreaterThan(32);
    expect(row.masterKeyId).toMatch(/^mk_[0-9a-f]{16}$/);
  });

  it("refuses another org's ciphertext", async () => {
    const [a, b] = [await createOrg(db.dataSource), await createOrg(db.dataSource)];
    const cipher = new EnvelopeCipher(store, new MasterKeyring({ current: oldKey }));
    const secret = await cipher.encrypt(a.id, 'tenant A secret');
    await cipher.encrypt(b.id, 'tenant B secret');
    await expect(cipher.decrypt(b.id, secret)).rejects.toBeInstanceOf(DecryptionError);
  });

  it('re-wraps every data key on master key rotation; old ciphertexts still decrypt', async () => {
    const orgs = await Promise.all([1, 2, 3].map(() => createOrg(db.dataSource)));
    const before = new EnvelopeCipher(store, new MasterKeyring({ current: oldKey }));
    const ciphertexts = await Promise.all(
      orgs.map((org) => before.encrypt(org.id, `secret of ${org.slug}`)),
    );

    const rotating = new MasterKeyring({ current: newKey, previous: [oldKey] });
    const result = await rotateMasterKey(store, rotating);
    expect(result.rewrapped).toBeGreaterThanOrEqual(orgs.length);

    const rows = await db.dataSource.getRepository(OrgDataKey).find();
    expect(new Set(rows.map((r) => r.masterKeyId))).toEqual(new Set([rotating.currentId]));

    // Only the new master key from here on: the old one can be destroyed.
    const after = new EnvelopeCipher(store, new MasterKeyring({ current: newKey }));
    for (const [i, org] of orgs.entries()) {
      expect(await after.decryptString(org.id, ciphertexts[i])).toBe(`secret of ${org.slug}`);
    }
    expect((await rotateMasterKey(store, rotating)).rewrapped).toBe(0);
  });

  it('fails to decrypt with the wrong master key', async () => {
    const org = await createOrg(db.dataSource);
    const secret = await new EnvelopeCipher(store, new MasterKeyring({ current: newKey })).encrypt(
      org.id,
      's',
    );
    const stranger = new EnvelopeCipher(store, new MasterKeyring({ current: randomBytes(32) }));
    await expect(stranger.decrypt(org.id, secret)).rejects.toBeInstanceOf(DecryptionError);
  });

  it('crypto-shreds an org by deleting its data keys', async () => {
    const org = await createOrg(db.dataSource);
    const cipher = new EnvelopeCipher(store, new MasterKeyring({ current: newKey }));
    const secret = await cipher.encrypt(org.id, 'gone soon');
    expect(await store.deleteForOrg(org.id)).toBe(1);
    cipher.forgetOrg(org.id);
    await expect(cipher.decrypt(org.id, secret)).rejects.toBeInstanceOf(DecryptionError);
  });
});
