import { ConfigError, loadConfig } from '@molecule/config';
import { runMigrations } from '../migrate';

async function main(): Promise<void> {
  const config = loadConfig('migrator');
  const applied = await runMigrations(config.databaseUrl.reveal());
  console.log(
    applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database is up to date.',
  );
}

main().catch((error: unknown) => {
  console.error(
    error instanceof ConfigError ? error.message : `Migration failed: ${String(error)}`,
  );
  process.exit(1);
});
