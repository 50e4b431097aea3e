import { describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { InMemoryDataKeyStore } from './data-key-store';
import { EnvelopeCipher, rotateMasterKey } from './envelope';
import { DecryptionError } from './errors';
import { MasterKeyring, masterKeyId } from './keyring';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const ORG_A = '0b7e4c52-3f7a-4a8e-9d62-6c1f0e1a2b3c';
const ORG_B = '9a1d2e3f-4b5c-4d6e-8f70-8192a3b4c5d6';
const SECRET = 'db-password: correct horse battery staple';

function setup(keys: { current: Buffer; previous?: Buffer[] } = { current: K1 }) {
  const store = new InMemoryDataKeyStore();
  return { store, cipher: new EnvelopeCipher(store, new MasterKeyring(keys)) };
}

/** Runs `attempt`, expects a DecryptionError and returns its message. */
async function failure(attempt: Promise<unknown>): Promise<string> {
  const error = await attempt.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DecryptionError);
  return (error as Error).message;
}

/** Flips one bit of one decoded part (2 = iv, 3 = tag, 4 = ciphertext) and re-encodes it. */
function tamper(ciphertext: string, part: number, index = 0): string {
  const parts = ciphertext.split('.');
  const bytes = Buffer.from(parts[part], 'base64url');
  bytes[index] ^= 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('EnvelopeCipher', () => {
  it('round-trips strings, binary data and the empty string', async () => {
    const { cipher } = setup();
    const binary = randomBytes(1024);
    for (const text of [SECRET, '', 'ünïcødé ✓ 🔑']) {
      expect(await cipher.decryptString(ORG_A, await cipher.encrypt(ORG_A, text))).toBe(text);
    }
    expect((await cipher.decrypt(ORG_A, await cipher.encrypt(ORG_A, binary))).equals(binary)).toBe(
      true,
    );
  });

  it('produces a self-describing v1 string that hides the plaintext', async () => {
    const { cipher } = setup();
    const first = await cipher.encrypt(ORG_A, SECRET);
    expect(first).toMatch(/^v1\.1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(first).not.toContain(Buffer.from(SECRET).toString('base64url').slice(0, 8));
    expect(await cipher.encrypt(ORG_A, SECRET)).not.toBe(first);
  });

  it('creates version 1 of the org data key, wrapped by the current master key', async () => {
    const { store, cipher } = setup();
    await cipher.encrypt(ORG_A, SECRET);
    expect(await store.all()).toEqual([
      expect.objectContaining({ orgId: ORG_A, version: 1, masterKeyId: masterKeyId(K1) }),
    ]);
  });

  it.each([
    ['iv', 2, 0],
    ['iv', 2, 11],
    ['tag', 3, 0],
    ['tag', 3, 15],
    ['ciphertext', 4, 0],
    ['ciphertext', 4, 20],
  ])('rejects a flipped %s byte (part %i, byte %i)', async (_name, part, index) => {
    const { cipher } = setup();
    const ciphertext = await cipher.encrypt(ORG_A, SECRET);
    const message = await failure(cipher.decrypt(ORG_A, tamper(ciphertext, part, index)));
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain('correct horse');
  });

  it('rejects malformed input with the same generic error', async () => {
    const { cipher } = setup();
    const [, version, iv, tag, body] = (await cipher.encrypt(ORG_A, SECRET)).split('.');
    const malformed = [
      '',
      SECRET,
      `v2.${version}.${iv}.${tag}.${body}`,
      `v1.0.${iv}.${tag}.${body}`,
      `v1.01.${iv}.${tag}.${body}`,
      `v1.2.${iv}.${tag}.${body}`,
      `v1.${version}.${iv}.${tag}`,
      `v1.${version}.${iv}.${tag}.${body}.x`,
      `v1.${version}.${iv}A.${tag}.${body}`,
      `v1.${version}.${iv}.${tag}.${body}=`,
      `v1.${version}.${iv}.${tag}.${body}!`,
      `v1.${version}.${iv}.${tag.slice(0, -1)}.${body}`,
      undefined as unknown as string,
    ];
    const messages = new Set<string>();
    for (const input of malformed) {
      messages.add(await failure(cipher.decrypt(ORG_A, input)));
    }
    expect([...messages]).toEqual(['decryption failed']);
  });

  it('rejects a non-canonical base64url encoding of the same bytes', async () => {
    const { cipher } = setup();
    const parts = (await cipher.encrypt(ORG_A, SECRET)).split('.');
    // The last of 22 characters for 16 bytes carries 4 unused bits; setting one keeps the bytes.
    const last = parts[3].at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    parts[3] = parts[3].slice(0, -1) + alphabet[alphabet.indexOf(last) | 1];
    expect(Buffer.from(parts[3], 'base64url')).toHaveLength(16);
    await failure(cipher.decrypt(ORG_A, parts.join('.')));
  });

  it('cannot decrypt with a keyring built from a different master key', async () => {
    const { store, cipher } = setup();
    const ciphertext = await cipher.encrypt(ORG_A, SECRET);
    const intruder = new EnvelopeCipher(store, new MasterKeyring({ current: K2 }));
    expect(await failure(intruder.decrypt(ORG_A, ciphertext))).not.toContain(SECRET);
  });

  it("does not let org B decrypt org A's data with its own data key", async () => {
    const { store, cipher } = setup();
    const ofA = await cipher.encrypt(ORG_A, SECRET);
    await cipher.encrypt(ORG_B, 'something of B');
    await failure(cipher.decrypt(ORG_B, ofA));
    // A fresh instance takes the uncached path too.
    const fresh = new EnvelopeCipher(store, new MasterKeyring({ current: K1 }));
    await failure(fresh.decrypt(ORG_B, ofA));
  });

  it('rejects a ciphertext moved to another org id and creates no key for it', async () => {
    const { store, cipher } = setup();
    const ofA = await cipher.encrypt(ORG_A, SECRET);
    await failure(cipher.decrypt(ORG_B, ofA));
    expect(await store.active(ORG_B)).toBeUndefined();
  });

  it('creates exactly one data key under many parallel encrypts for a fresh org', async () => {
    const { store, cipher } = setup();
    const insert = jest.spyOn(store, 'insert');
    const texts = Array.from({ length: 50 }, (_, i) => `secret ${i}`);
    const ciphertexts = await Promise.all(texts.map((text) => cipher.encrypt(ORG_A, text)));
    // The race really happened: several writers tried to create version 1.
    expect(insert.mock.calls.length).toBeGreaterThan(1);
    expect(await store.all()).toHaveLength(1);
    const reader = new EnvelopeCipher(store, new MasterKeyring({ current: K1 }));
    const plaintexts = await Promise.all(ciphertexts.map((c) => reader.decryptString(ORG_A, c)));
    expect(plaintexts).toEqual(texts);
  });

  it('makes purged data unreadable once the org is forgotten', async () => {
    const { store, cipher } = setup();
    const ciphertext = await cipher.encrypt(ORG_A, SECRET);
    expect(await store.deleteForOrg(ORG_A)).toBe(1);
    cipher.forgetOrg(ORG_A);
    await failure(cipher.decrypt(ORG_A, ciphertext));
  });

  it('notices when another process purged and recreated the org key', async () => {
    const { store, cipher: here } = setup();
    const there = new EnvelopeCipher(store, new MasterKeyring({ current: K1 }));
    await here.encrypt(ORG_A, 'old');
    await store.deleteForOrg(ORG_A);
    const fromThere = await there.encrypt(ORG_A, 'new from there');
    expect(await here.decryptString(ORG_A, fromThere)).toBe('new from there');
    expect(await there.decryptString(ORG_A, await here.encrypt(ORG_A, 'new from here'))).toBe(
      'new from here',
    );
  });

  it('serves repeated decrypts from a bounded cache', async () => {
    const store = new InMemoryDataKeyStore();
    const keyring = new MasterKeyring({ current: K1 });
    const writer = new EnvelopeCipher(store, keyring);
    const ofA = await writer.encrypt(ORG_A, 'a');
    const ofB = await writer.encrypt(ORG_B, 'b');
    const lookups = jest.spyOn(store, 'byVersion');

    const roomy = new EnvelopeCipher(store, keyring, { cacheSize: 2 });
    for (const [org, text] of [
      [ORG_A, ofA],
      [ORG_B, ofB],
      [ORG_A, ofA],
      [ORG_B, ofB],
    ]) {
      await roomy.decrypt(org, text);
    }
    expect(lookups).toHaveBeenCalledTimes(2);

    lookups.mockClear();
    const tight = new EnvelopeCipher(store, keyring, { cacheSize: 1 });
    for (const [org, text] of [
      [ORG_A, ofA],
      [ORG_B, ofB],
      [ORG_A, ofA],
    ]) {
      await tight.decrypt(org, text);
    }
    expect(lookups).toHaveBeenCalledTimes(3);
    expect(() => new EnvelopeCipher(store, keyring, { cacheSize: 0 })).toThrow(TypeError);
  });
});

describe('rotateMasterKey', () => {
  it('re-wraps every data key under the new master key, keeping old ciphertexts readable', async () => {
    const { store, cipher } = setup({ current: K1 });
    const ofA = await cipher.encrypt(ORG_A, SECRET);
    const ofB = await cipher.encrypt(ORG_B, 'secret of B');
    const before = await store.byVersion(ORG_A, 1);

    const rotated = new MasterKeyring({ current: K2, previous: [K1] });
    expect(await rotateMasterKey(store, rotated)).toEqual({ rewrapped: 2, alreadyCurrent: 0 });

    const keys = await store.all();
    expect(keys.map((key) => key.masterKeyId)).toEqual([masterKeyId(K2), masterKeyId(K2)]);
    expect(keys[0].wrappedKey.equals(before!.wrappedKey)).toBe(false);

    const withBoth = new EnvelopeCipher(store, rotated);
    expect(await withBoth.decryptString(ORG_A, ofA)).toBe(SECRET);
    // Only K2: this can succeed only because the data keys really were re-wrapped.
    const withK2Only = new EnvelopeCipher(store, new MasterKeyring({ current: K2 }));
    expect(await withK2Only.decryptString(ORG_A, ofA)).toBe(SECRET);
    expect(await withK2Only.decryptString(ORG_B, ofB)).toBe('secret of B');
    await failure(
      new EnvelopeCipher(store, new MasterKeyring({ current: K1 })).decrypt(ORG_A, ofA),
    );

    expect(await rotateMasterKey(store, rotated)).toEqual({ rewrapped: 0, alreadyCurrent: 2 });
  });

  it('lets the existing cipher keep working across the rotation', async () => {
    const { store, cipher } = setup({ current: K1 });
    const before = await cipher.encrypt(ORG_A, SECRET);
    await rotateMasterKey(store, new MasterKeyring({ current: K2, previous: [K1] }));
    const after = new EnvelopeCipher(store, new MasterKeyring({ current: K2 }));
    expect(await after.decryptString(ORG_A, before)).toBe(SECRET);
    expect(await after.decryptString(ORG_A, await after.encrypt(ORG_A, 'later'))).toBe('later');
  });

  it('converges when two rotations run at once', async () => {
    const { store, cipher } = setup({ current: K1 });
    await Promise.all([ORG_A, ORG_B].map((org) => cipher.encrypt(org, SECRET)));
    const rotated = new MasterKeyring({ current: K2, previous: [K1] });
    const results = await Promise.all([
      rotateMasterKey(store, rotated),
      rotateMasterKey(store, rotated),
    ]);
    expect(results[0].rewrapped + results[1].rewrapped).toBe(2);
    expect(results[0].alreadyCurrent + results[1].alreadyCurrent).toBe(2);
  });

  it('stops with ids, never key bytes, when an old master key is missing', async () => {
    const { store, cipher } = setup({ current: K1 });
    await cipher.encrypt(ORG_A, SECRET);
    const withoutK1 = new MasterKeyring({ current: K2 });
    const message = await failure(rotateMasterKey(store, withoutK1));
    expect(message).toContain(ORG_A);
    expect(message).toContain(masterKeyId(K1));
    for (const key of [K1, K2]) {
      expect(message).not.toContain(key.toString('hex').slice(0, 8));
      expect(message).not.toContain(key.toString('base64').slice(0, 8));
    }
    expect((await store.active(ORG_A))?.masterKeyId).toBe(masterKeyId(K1));
  });
});
