import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { DecryptionError } from './errors';
import { MasterKeyring, masterKeyId } from './keyring';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const dataKey = randomBytes(32);
const org = '6f1c8f8e-5a3e-4c59-9d1b-0a8f3f0c2b11';

describe('masterKeyId', () => {
  it('is deterministic, short and reveals nothing of the key', () => {
    const id = masterKeyId(k1);
    expect(id).toMatch(/^mk_[0-9a-f]{16}$/);
    expect(masterKeyId(Buffer.from(k1))).toBe(id);
    expect(masterKeyId(k2)).not.toBe(id);
    expect(k1.toString('hex')).not.toContain(id.slice(3));
  });
});

describe('MasterKeyring', () => {
  it('rejects keys that are not 32 bytes without echoing them', () => {
    const short = Buffer.from('not-a-32-byte-master-key');
    for (const keys of [{ current: short }, { current: k1, previous: [k2, short] }]) {
      expect(() => new MasterKeyring(keys)).toThrow(TypeError);
      expect(() => new MasterKeyring(keys)).not.toThrow(/not-a-32/);
    }
    expect(() => new MasterKeyring({ current: 'x' as unknown as Buffer })).toThrow(TypeError);
  });

  it('names the current key and knows the previous ones', () => {
    const keyring = new MasterKeyring({ current: k2, previous: [k1] });
    expect(keyring.currentId).toBe(masterKeyId(k2));
    expect(keyring.ids).toEqual([masterKeyId(k2), masterKeyId(k1)]);
    expect(keyring.has(masterKeyId(k1))).toBe(true);
  });

  it('round-trips a data key with iv | tag | ciphertext layout', () => {
    const keyring = new MasterKeyring({ current: k1 });
    const { masterKeyId: id, wrapped } = keyring.wrap(dataKey, org);
    expect(id).toBe(keyring.currentId);
    expect(wrapped).toHaveLength(12 + 16 + 32);
    expect(wrapped.includes(dataKey)).toBe(false);
    expect(keyring.unwrap(wrapped, id, org).equals(dataKey)).toBe(true);
  });

  it('unwraps with a previous key', () => {
    const { masterKeyId: id, wrapped } = new MasterKeyring({ current: k1 }).wrap(dataKey, org);
    const rotated = new MasterKeyring({ current: k2, previous: [k1] });
    expect(rotated.unwrap(wrapped, id, org).equals(dataKey)).toBe(true);
  });

  it('throws DecryptionError for an unknown key, another org or any altered byte', () => {
    const keyring = new MasterKeyring({ current: k1 });
    const { masterKeyId: id, wrapped } = keyring.wrap(dataKey, org);
    const attempts = [
      () => new MasterKeyring({ current: k2 }).unwrap(wrapped, id, org),
      () => keyring.unwrap(wrapped, masterKeyId(k2), org),
      () => keyring.unwrap(wrapped, id, 'another-org'),
      () => keyring.unwrap(wrapped.subarray(1), id, org),
      ...[0, 12, 28, 59].map((index) => () => {
        const tampered = Buffer.from(wrapped);
        tampered[index] ^= 0x01;
        return keyring.unwrap(tampered, id, org);
      }),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(DecryptionError);
    }
  });

  it('does not show its keys when inspected or serialised', () => {
    const keyring = new MasterKeyring({ current: k1, previous: [k2] });
    const shown = inspect(keyring, { depth: 5, showHidden: true }) + JSON.stringify(keyring);
    for (const key of [k1, k2]) {
      expect(shown).not.toContain(key.toString('hex').slice(0, 8));
      expect(shown).not.toContain(key.toString('base64').slice(0, 8));
    }
  });

  it('is unaffected by later changes to the buffers it was given', () => {
    const current = Buffer.from(k1);
    const keyring = new MasterKeyring({ current });
    const { masterKeyId: id, wrapped } = keyring.wrap(dataKey, org);
    current.fill(0);
    expect(keyring.unwrap(wrapped, id, org).equals(dataKey)).toBe(true);
  });
});
