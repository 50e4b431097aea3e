import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { DecryptionError } from './errors';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface MasterKeys {
  /** Wraps every new data key. */
  readonly current: Buffer;
  /** Retired keys, kept only so data keys they wrapped can be unwrapped (and re-wrapped). */
  readonly previous?: readonly Buffer[];
}

export interface WrappedDataKey {
  readonly masterKeyId: string;
  /** `iv | tag | ciphertext` */
  readonly wrapped: Buffer;
}

/**
 * A stable, public name for a master key, stored next to each wrapped data key so the right key
 * can be picked during unwrap and rotation. One-way and domain-separated, so it reveals nothing
 * about the key and cannot collide with hashes computed for other purposes.
 */
export function masterKeyId(key: Buffer): string {
  const digest = createHash('sha256').update('molecule-master-key-id:').update(key).digest('hex');
  return `mk_${digest.slice(0, 16)}`;
}

/**
 * The master keys of this deployment. They never leave the process: they only wrap and unwrap
 * per-org data keys, which are what actually encrypt tenant data.
 */
export class MasterKeyring {
  readonly currentId: string;
  // Private fields so that util.inspect, loggers and JSON.stringify never see the keys.
  readonly #keys = new Map<string, Buffer>();

  constructor(keys: MasterKeys) {
    const current = checkKey(keys?.current, 'the current master key');
    this.currentId = masterKeyId(current);
    this.#keys.set(this.currentId, current);
    (keys.previous ?? []).forEach((key, index) => {
      const copy = checkKey(key, `previous master key #${index + 1}`);
      this.#keys.set(masterKeyId(copy), copy);
    });
  }

  /** Ids of every key this keyring can unwrap with, current first. */
  get ids(): string[] {
    return [...this.#keys.keys()];
  }

  has(id: string): boolean {
    return this.#keys.has(id);
  }

  wrap(dataKey: Buffer, orgId: string): WrappedDataKey {
    if (!Buffer.isBuffer(dataKey) || dataKey.length !== KEY_BYTES) {
      throw new TypeError(`a data key must be ${KEY_BYTES} bytes`);
    }
    assertOrgId(orgId);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.currentId)!, iv, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(wrapAad(orgId, this.currentId));
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return { masterKeyId: this.currentId, wrapped: Buffer.concat([iv, cipher.getAuthTag(), body]) };
  }

  unwrap(wrapped: Buffer, masterKeyId: string, orgId: string): Buffer {
    const key = this.#keys.get(masterKeyId);
    if (!key || !Buffer.isBuffer(wrapped) || wrapped.length !== IV_BYTES + TAG_BYTES + KEY_BYTES) {
      throw new DecryptionError();
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, wrapped.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(wrapAad(orgId, masterKeyId));
      decipher.setAuthTag(wrapped.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([
        decipher.update(wrapped.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new DecryptionError();
    }
  }
}

/** Binds a wrapped data key to its org and master key, so it cannot be swapped onto another row. */
function wrapAad(orgId: string, masterKeyId: string): Buffer {
  return Buffer.from(`molecule:data-key:v1:${orgId}:${masterKeyId}`, 'utf8');
}

function checkKey(key: unknown, name: string): Buffer {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    const size = Buffer.isBuffer(key) ? `${key.length} bytes` : typeof key;
    throw new TypeError(`${name} must be ${KEY_BYTES} bytes (got ${size})`);
  }
  // A copy, so that a caller zeroing or reusing its buffer cannot change the keyring.
  return Buffer.from(key);
}

export function assertOrgId(orgId: string): void {
  if (typeof orgId !== 'string' || orgId.length === 0) {
    throw new TypeError('orgId must be a non-empty string');
  }
}
