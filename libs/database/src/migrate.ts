import { Client } from 'pg';
import { createDataSource } from './data-source';

/** Arbitrary but fixed: every migrator of every replica takes the same advisory lock. */
const MIGRATION_LOCK_ID = 7_420_001;

/**
 * Creates the database named in `url` if it does not exist yet (safe to race). The server's
 * `postgres` database is only used when the target is missing, so roles that may connect only
 * to their own database (common on managed Postgres) work when it already exists.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const probe = new Client({ connectionString: url });
  try {
    await probe.connect();
    return;
  } catch (error) {
    // 3D000 invalid_catalog_name: the database does not exist yet.
    if ((error as { code?: string }).code !== '3D000') throw error;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((error: unknown) => {
      // Another migrator created it first: 42P04 duplicate_database, or 23505 when both
      // CREATE DATABASE statements raced on the catalog's unique index.
      const code = (error as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw error;
    });
  } finally {
    await client.end();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Applies pending migrations under a Postgres advisory lock, so several replicas (or a dev
 * runner and a CI job) starting at once apply each migration exactly once. Idempotent.
 */
export async function runMigrations(url: string): Promise<string[]> {
  await ensureDatabase(url);
  const dataSource = createDataSource({ url, poolSize: 2, applicationName: 'molecule-migrate' });
  await dataSource.initialize();
  const lock = dataSource.createQueryRunner();
  try {
    await lock.connect();
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    await lock.release();
    await dataSource.destroy();
  }
}

/**
 * Applies every migration to a scratch database and asks TypeORM what it would change to match
 * the entities. Any statement means the entities and the committed migrations disagree.
 */
export async function schemaDrift(url: string): Promise<string[]> {
  const scratch = new URL(url);
  scratch.pathname = `/molecule_drift_${process.pid}_${Date.now().toString(36)}`;
  const scratchUrl = scratch.toString();
  await runMigrations(scratchUrl);
  const dataSource = createDataSource({ url: scratchUrl, poolSize: 1 });
  try {
    await dataSource.initialize();
    const sql = await dataSource.driver.createSchemaBuilder().log();
    return sql.upQueries.map((query) => query.query);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await dropDatabase(scratchUrl);
  }
}
