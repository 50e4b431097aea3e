import { ConfigError, loadConfig } from '@molecule/config';
import { schemaDrift } from '../migrate';

async function main(): Promise<void> {
  const config = loadConfig('migrator');
  const drift = await schemaDrift(config.databaseUrl.reveal());
  if (drift.length > 0) {
    console.error('The entities and the committed migrations disagree. Missing statements:');
    for (const statement of drift) console.error(`  ${statement};`);
    console.error('Generate a migration (see CONTRIBUTING.md) and commit it.');
    process.exit(1);
  }
  console.log('Migrations match the entities.');
}

main().catch((error: unknown) => {
  console.error(
    error instanceof ConfigError ? error.message : `Migration check failed: ${String(error)}`,
  );
  process.exit(1);
});
