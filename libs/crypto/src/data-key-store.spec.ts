import { describe, expect, it } from '@jest/globals';
import { InMemoryDataKeyStore, type StoredDataKey } from './data-key-store';

const row = (version: number, orgId = 'org-a'): StoredDataKey => ({
  orgId,
  version,
  masterKeyId: 'mk_0000000000000001',
  wrappedKey: Buffer.alloc(60, version),
});

describe('InMemoryDataKeyStore', () => {
  it('returns the newest version as active', async () => {
    const store = new InMemoryDataKeyStore();
    expect(await store.active('org-a')).toBeUndefined();
    await store.insert(row(1));
    await store.insert(row(2));
    await store.insert(row(1, 'org-b'));
    expect((await store.active('org-a'))?.version).toBe(2);
    expect((await store.byVersion('org-a', 1))?.wrappedKey).toEqual(row(1).wrappedKey);
    expect(await store.byVersion('org-a', 3)).toBeUndefined();
  });

  it('keeps the first insert of a version and returns it to later writers', async () => {
    const store = new InMemoryDataKeyStore();
    const first = await store.insert(row(1));
    const second = await store.insert({ ...row(1), wrappedKey: Buffer.alloc(60, 9) });
    expect(second.wrappedKey).toEqual(first.wrappedKey);
    expect(first.createdAt).toBeInstanceOf(Date);
    expect(await store.all()).toHaveLength(1);
  });

  it('updates a wrapping only when the expected master key still matches', async () => {
    const store = new InMemoryDataKeyStore();
    await store.insert(row(1));
    const wrapped = Buffer.alloc(60, 7);
    expect(await store.updateWrapping('org-a', 1, 'mk_new', wrapped, 'mk_other')).toBe(false);
    expect(await store.updateWrapping('org-a', 1, 'mk_new', wrapped, row(1).masterKeyId)).toBe(
      true,
    );
    expect(await store.updateWrapping('org-a', 1, 'mk_new', wrapped, row(1).masterKeyId)).toBe(
      false,
    );
    expect(await store.updateWrapping('org-x', 1, 'mk_new', wrapped, 'mk_new')).toBe(false);
    expect(await store.byVersion('org-a', 1)).toMatchObject({
      masterKeyId: 'mk_new',
      wrappedKey: wrapped,
    });
  });

  it('deletes one org only', async () => {
    const store = new InMemoryDataKeyStore();
    await Promise.all([store.insert(row(1)), store.insert(row(2)), store.insert(row(1, 'org-b'))]);
    expect(await store.deleteForOrg('org-a')).toBe(2);
    expect(await store.deleteForOrg('org-a')).toBe(0);
    expect((await store.all()).map((key) => key.orgId)).toEqual(['org-b']);
  });

  it('copies buffers in and out like a database', async () => {
    const store = new InMemoryDataKeyStore();
    const input = row(1);
    const returned = await store.insert(input);
    input.wrappedKey.fill(0xff);
    returned.wrappedKey.fill(0xee);
    expect((await store.byVersion('org-a', 1))?.wrappedKey).toEqual(Buffer.alloc(60, 1));
  });
});
