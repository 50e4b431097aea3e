/** One org's data key, as persisted: only ever in wrapped form. Maps to a row of `org_data_keys`. */
export interface StoredDataKey {
  readonly orgId: string;
  /** Starts at 1; appears in every ciphertext so that data keys can be rotated later. */
  readonly version: number;
  /** Which master key wrapped it (see `masterKeyId`). */
  readonly masterKeyId: string;
  readonly wrappedKey: Buffer;
  readonly createdAt?: Date;
}

/**
 * Persistence port for data keys. A Postgres adapter over
 * `org_data_keys(org_id, version, master_key_id, wrapped_key, created_at, retired_at)` with
 * `unique (org_id, version)` maps each method to one statement. Methods return `undefined` (not
 * throw) for an org id the store cannot hold, e.g. one that is not a uuid.
 */
export interface DataKeyStore {
  /** The newest version that is not retired (`retired_at is null order by version desc limit 1`). */
  active(orgId: string): Promise<StoredDataKey | undefined>;

  byVersion(orgId: string, version: number): Promise<StoredDataKey | undefined>;

  /**
   * Must be race-safe: if another writer already inserted this (orgId, version), return that row
   * instead (`insert … on conflict do nothing returning *`, then select). Callers rely on this to
   * converge on a single data key when several processes create one at the same time.
   */
  insert(key: StoredDataKey): Promise<StoredDataKey>;

  /** Every data key of every org, for master key rotation. May stream. */
  all(): AsyncIterable<StoredDataKey> | Promise<StoredDataKey[]>;

  /**
   * Replaces the wrapping of one data key only if it is still wrapped by `expectedMasterKeyId`
   * (`update … where org_id = $1 and version = $2 and master_key_id = $expected`), so concurrent
   * rotations cannot overwrite each other. True if a row was updated.
   */
  updateWrapping(
    orgId: string,
    version: number,
    masterKeyId: string,
    wrappedKey: Buffer,
    expectedMasterKeyId: string,
  ): Promise<boolean>;

  /** Crypto-shredding: without its data keys an org's ciphertexts can never be read again. */
  deleteForOrg(orgId: string): Promise<number>;
}

/** A faithful in-process `DataKeyStore` for unit tests and as a fake in other modules' tests. */
export class InMemoryDataKeyStore implements DataKeyStore {
  readonly #rows = new Map<string, StoredDataKey>();

  async active(orgId: string): Promise<StoredDataKey | undefined> {
    const newest = this.#forOrg(orgId).sort((a, b) => b.version - a.version)[0];
    return newest && copy(newest);
  }

  async byVersion(orgId: string, version: number): Promise<StoredDataKey | undefined> {
    const row = this.#rows.get(rowId(orgId, version));
    return row && copy(row);
  }

  async insert(key: StoredDataKey): Promise<StoredDataKey> {
    const id = rowId(key.orgId, key.version);
    const existing = this.#rows.get(id);
    if (existing) {
      return copy(existing);
    }
    const row = copy({ ...key, createdAt: key.createdAt ?? new Date() });
    this.#rows.set(id, row);
    return copy(row);
  }

  async all(): Promise<StoredDataKey[]> {
    return [...this.#rows.values()].map(copy);
  }

  async updateWrapping(
    orgId: string,
    version: number,
    masterKeyId: string,
    wrappedKey: Buffer,
    expectedMasterKeyId: string,
  ): Promise<boolean> {
    const id = rowId(orgId, version);
    const row = this.#rows.get(id);
    if (!row || row.masterKeyId !== expectedMasterKeyId) {
      return false;
    }
    this.#rows.set(id, copy({ ...row, masterKeyId, wrappedKey }));
    return true;
  }

  async deleteForOrg(orgId: string): Promise<number> {
    const rows = this.#forOrg(orgId);
    rows.forEach((row) => this.#rows.delete(rowId(row.orgId, row.version)));
    return rows.length;
  }

  #forOrg(orgId: string): StoredDataKey[] {
    return [...this.#rows.values()].filter((row) => row.orgId === orgId);
  }
}

function rowId(orgId: string, version: number): string {
  return JSON.stringify([orgId, version]);
}

// Copies in and out, like a database would, so tests cannot pass by sharing mutable buffers.
function copy(row: StoredDataKey): StoredDataKey {
  return {
    ...row,
    wrappedKey: Buffer.from(row.wrappedKey),
    ...(row.createdAt && { createdAt: new Date(row.createdAt) }),
  };
}
