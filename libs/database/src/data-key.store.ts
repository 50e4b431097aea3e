import type { DataKeyStore, StoredDataKey } from '@molecule/crypto';
import { IsNull, type DataSource, type Repository } from 'typeorm';
import { OrgDataKey } from './entities';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const toStored = (row: OrgDataKey): StoredDataKey => ({
  orgId: row.orgId,
  version: row.version,
  masterKeyId: row.masterKeyId,
  wrappedKey: row.wrappedKey,
  createdAt: row.createdAt,
});

/** The `org_data_keys` table behind the crypto lib's {@link DataKeyStore} port. */
export class PostgresDataKeyStore implements DataKeyStore {
  private readonly keys: Repository<OrgDataKey>;

  constructor(dataSource: DataSource) {
    this.keys = dataSource.getRepository(OrgDataKey);
  }

  async active(orgId: string): Promise<StoredDataKey | undefined> {
    if (!UUID.test(orgId)) return undefined;
    const row = await this.keys.findOne({
      where: { orgId, retiredAt: IsNull() },
      order: { version: 'DESC' },
    });
    return row ? toStored(row) : undefined;
  }

  async byVersion(orgId: string, version: number): Promise<StoredDataKey | undefined> {
    if (!UUID.test(orgId)) return undefined;
    const row = await this.keys.findOneBy({ orgId, version });
    return row ? toStored(row) : undefined;
  }

  async insert(key: StoredDataKey): Promise<StoredDataKey> {
    await this.keys
      .createQueryBuilder()
      .insert()
      .values({
        orgId: key.orgId,
        version: key.version,
        masterKeyId: key.masterKeyId,
        wrappedKey: key.wrappedKey,
      })
      .orIgnore()
      .execute();
    // Whoever won the race, this is the row every process will now use.
    const row = await this.keys.findOneByOrFail({ orgId: key.orgId, version: key.version });
    return toStored(row);
  }

  async *all(): AsyncIterable<StoredDataKey> {
    const pageSize = 500;
    let after: { orgId: string; version: number } | undefined;
    for (;;) {
      const query = this.keys
        .createQueryBuilder('k')
        .orderBy('k.org_id', 'ASC')
        .addOrderBy('k.version', 'ASC')
        .limit(pageSize);
      if (after) query.where('(k.org_id, k.version) > (:orgId, :version)', after);
      const rows = await query.getMany();
      for (const row of rows) yield toStored(row);
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1];
      after = { orgId: last.orgId, version: last.version };
    }
  }

  async updateWrapping(
    orgId: string,
    version: number,
    masterKeyId: string,
    wrappedKey: Buffer,
    expectedMasterKeyId: string,
  ): Promise<boolean> {
    const result = await this.keys.update(
      { orgId, version, masterKeyId: expectedMasterKeyId },
      { masterKeyId, wrappedKey },
    );
    return (result.affected ?? 0) > 0;
  }

  async deleteForOrg(orgId: string): Promise<number> {
    if (!UUID.test(orgId)) return 0;
    const result = await this.keys.delete({ orgId });
    return result.affected ?? 0;
  }
}
