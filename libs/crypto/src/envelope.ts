import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataKeyStore, StoredDataKey } from './data-key-store';
import { DecryptionError } from './errors';
import { assertOrgId, type MasterKeyring } from './keyring';

const FORMAT = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const DEFAULT_CACHE_SIZE = 1000;
const VERSION = /^[1-9][0-9]{0,8}$/;

export interface EnvelopeCipherOptions {
  /** How many unwrapped data keys to keep in memory. */
  readonly cacheSize?: number;
}

export interface RotationResult {
  /** Data keys moved onto the current master key by this run. */
  readonly rewrapped: number;
  readonly alreadyCurrent: number;
}

interface Sealed {
  readonly version: number;
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly body: Buffer;
}

interface CachedKey {
  readonly orgId: string;
  /** The wrapped form it came from, to notice when the stored key has changed underneath us. */
  readonly wrapped: Buffer;
  readonly key: Buffer;
}

/**
 * Envelope encryption: each org's data is sealed with that org's own data key, and data keys are
 * stored only wrapped by a master key. Purging an org's data keys makes its data unreadable, and
 * rotating the master key only rewraps a few keys instead of re-encrypting all data.
 *
 * Ciphertexts are `v1.<data key version>.<iv>.<tag>.<ciphertext>` (base64url): the version says
 * which data key to use, so data keys can be rotated without a flag day.
 */
export class EnvelopeCipher {
  readonly #store: DataKeyStore;
  readonly #keyring: MasterKeyring;
  // Unwrapped keys are kept because secrets are decrypted on hot paths and each unwrap otherwise
  // costs a store round trip. The bound matters as much: every entry is a tenant's key in
  // plaintext, and an unbounded map would keep one for every org the process ever touched.
  readonly #cache: DataKeyCache;

  constructor(store: DataKeyStore, keyring: MasterKeyring, options: EnvelopeCipherOptions = {}) {
    this.#store = store;
    this.#keyring = keyring;
    this.#cache = new DataKeyCache(options.cacheSize ?? DEFAULT_CACHE_SIZE);
  }

  async encrypt(orgId: string, plaintext: string | Buffer): Promise<string> {
    assertOrgId(orgId);
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    if (!Buffer.isBuffer(data)) {
      throw new TypeError('plaintext must be a string or a Buffer');
    }
    const row = (await this.#store.active(orgId)) ?? (await this.#createFirstKey(orgId));
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#dataKey(row), iv, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(dataAad(orgId, row.version));
    const body = Buffer.concat([cipher.update(data), cipher.final()]);
    return [FORMAT, row.version, iv, cipher.getAuthTag(), body]
      .map((part) => (Buffer.isBuffer(part) ? part.toString('base64url') : String(part)))
      .join('.');
  }

  async decrypt(orgId: string, ciphertext: string): Promise<Buffer> {
    const sealed = parse(ciphertext);
    const cached = this.#cache.get(orgId, sealed.version);
    const fast = cached && open(cached.key, orgId, sealed);
    if (fast) {
      return fast;
    }
    // A miss, or a failure that may only mean the cached key is stale (another process purged and
    // recreated the org's keys), so ask the store before giving up.
    const row = await this.#store.byVersion(orgId, sealed.version);
    if (!row) {
      this.#cache.delete(orgId, sealed.version);
      throw new DecryptionError();
    }
    const plaintext = open(this.#dataKey(row), orgId, sealed);
    if (!plaintext) {
      throw new DecryptionError();
    }
    return plaintext;
  }

  async decryptString(orgId: string, ciphertext: string): Promise<string> {
    return (await this.decrypt(orgId, ciphertext)).toString('utf8');
  }

  /** Drops the org's cached data keys; call it when they are purged from the store. */
  forgetOrg(orgId: string): void {
    this.#cache.forgetOrg(orgId);
  }

  async #createFirstKey(orgId: string): Promise<StoredDataKey> {
    const { masterKeyId, wrapped } = this.#keyring.wrap(randomBytes(KEY_BYTES), orgId);
    // Several callers may race to create version 1; the store returns the winner's row, and only
    // that key may be used, so the row is unwrapped below rather than our own bytes reused.
    return this.#store.insert({ orgId, version: 1, masterKeyId, wrappedKey: wrapped });
  }

  #dataKey(row: StoredDataKey): Buffer {
    const cached = this.#cache.get(row.orgId, row.version);
    if (cached && cached.wrapped.equals(row.wrappedKey)) {
      return cached.key;
    }
    const key = this.#keyring.unwrap(row.wrappedKey, row.masterKeyId, row.orgId);
    this.#cache.set(row.orgId, row.version, {
      orgId: row.orgId,
      wrapped: Buffer.from(row.wrappedKey),
      key,
    });
    return key;
  }
}

/**
 * Re-wraps every data key that is not yet wrapped by the keyring's current master key. Data key
 * bytes do not change, so existing ciphertexts stay readable; once this has run, previous master
 * keys can be dropped. Idempotent and safe to rerun after a partial failure. Run it only once every
 * process has the new keyring, because the rewrapped keys are unreadable to the old one.
 */
export async function rotateMasterKey(
  store: DataKeyStore,
  keyring: MasterKeyring,
): Promise<RotationResult> {
  const result = { rewrapped: 0, alreadyCurrent: 0 };
  for await (const row of await store.all()) {
    if (row.masterKeyId === keyring.currentId) {
      result.alreadyCurrent += 1;
      continue;
    }
    const { masterKeyId, wrapped } = keyring.wrap(unwrapForRotation(keyring, row), row.orgId);
    const { orgId, version } = row;
    if (await store.updateWrapping(orgId, version, masterKeyId, wrapped, row.masterKeyId)) {
      result.rewrapped += 1;
      continue;
    }
    // Someone changed the row meanwhile (a concurrent rotation or a purge): re-read, not assume.
    const latest = await store.byVersion(orgId, version);
    if (latest && latest.masterKeyId !== keyring.currentId) {
      throw new Error(`data key of org ${orgId} version ${version} changed during rotation; rerun`);
    }
    if (latest) {
      result.alreadyCurrent += 1;
    }
  }
  return result;
}

function unwrapForRotation(keyring: MasterKeyring, row: StoredDataKey): Buffer {
  try {
    return keyring.unwrap(row.wrappedKey, row.masterKeyId, row.orgId);
  } catch {
    // Ids only: they tell the operator which old master key to put back into the keyring.
    throw new DecryptionError(
      `cannot unwrap data key of org ${row.orgId} version ${row.version}: master key ` +
        `${row.masterKeyId} is not in the keyring or the wrapped key is corrupt`,
    );
  }
}

/** Binds a ciphertext to its org and data key version, so it cannot be replayed elsewhere. */
function dataAad(orgId: string, version: number): Buffer {
  return Buffer.from(`molecule:data:v1:${orgId}:${version}`, 'utf8');
}

function parse(ciphertext: string): Sealed {
  const parts = typeof ciphertext === 'string' ? ciphertext.split('.') : [];
  if (parts.length !== 5 || parts[0] !== FORMAT || !VERSION.test(parts[1])) {
    throw new DecryptionError();
  }
  return {
    version: Number(parts[1]),
    iv: decode(parts[2], IV_BYTES),
    tag: decode(parts[3], TAG_BYTES),
    body: decode(parts[4]),
  };
}

// Node's base64url decoder skips junk characters; re-encoding makes the format strict, so no two
// strings decrypt to the same thing.
function decode(text: string, length?: number): Buffer {
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text || (length !== undefined && bytes.length !== length)) {
    throw new DecryptionError();
  }
  return bytes;
}

/** The plaintext, or undefined if authentication fails. */
function open(key: Buffer, orgId: string, sealed: Sealed): Buffer | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(dataAad(orgId, sealed.version));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.body), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** A small LRU map of unwrapped data keys, keyed by org and version. */
class DataKeyCache {
  readonly #entries = new Map<string, CachedKey>();
  readonly #limit: number;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new TypeError('cacheSize must be a positive integer');
    }
    this.#limit = limit;
  }

  get(orgId: string, version: number): CachedKey | undefined {
    const id = entryId(orgId, version);
    const entry = this.#entries.get(id);
    if (entry) {
      // Re-inserting moves it to the end, so eviction takes the least recently used.
      this.#entries.delete(id);
      this.#entries.set(id, entry);
    }
    return entry;
  }

  set(orgId: string, version: number, entry: CachedKey): void {
    const id = entryId(orgId, version);
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    if (this.#entries.size > this.#limit) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  delete(orgId: string, version: number): void {
    this.#entries.delete(entryId(orgId, version));
  }

  forgetOrg(orgId: string): void {
    for (const [id, entry] of this.#entries) {
      if (entry.orgId === orgId) {
        this.#entries.delete(id);
      }
    }
  }
}

function entryId(orgId: string, version: number): string {
  return JSON.stringify([orgId, version]);
}
