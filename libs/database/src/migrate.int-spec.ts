import { afterAll, describe, expect, it } from '@jest/globals';
import { testInfrastructure } from '@molecule/config';
import { randomBytes } from 'node:crypto';
import { createDataSource } from './data-source';
import { dropDatabase, runMigrations, schemaDrift } from './migrate';
import { MIGRATIONS } from './migrations';

const url = new URL(testInfrastructure().databaseUrl);
url.pathname = `/molecule_migrate_${randomBytes(4).toString('hex')}`;

describe('migrations', () => {
  afterAll(async () => {
    await dropDatabase(url.toString());
  });

  it('create the database and apply each migration once, even when run concurrently', async () => {
    const runs = await Promise.all([runMigrations(url.toString()), runMigrations(url.toString())]);
    expect(runs.flat()).toHaveLength(MIGRATIONS.length);

    const dataSource = createDataSource({ url: url.toString(), poolSize: 1 });
    await dataSource.initialize();
    try {
      const rows = await dataSource.query<{ name: string }[]>('SELECT name FROM migrations');
      expect(rows).toHaveLength(MIGRATIONS.length);
    } finally {
      await dataSource.destroy();
    }
  });

  it('are idempotent', async () => {
    expect(await runMigrations(url.toString())).toEqual([]);
  });

  it('match the entities exactly (the drift check npm test relies on)', async () => {
    expect(await schemaDrift(testInfrastructure().databaseUrl)).toEqual([]);
  });
});
