import { ConfigError, loadConfig } from '@molecule/config';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemaDrift } from '../migrate';

/**
 * Writes a migration with the statements that bring a migrated database in line with the
 * entities: `npm run db:generate -- AddWidgets`. Review the file, then list it in
 * `migrations/index.ts`.
 */
async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
    throw new Error('usage: npm run db:generate -- <PascalCaseName>');
  }
  const config = loadConfig('migrator');
  const statements = await schemaDrift(config.databaseUrl.reveal());
  if (statements.length === 0) {
    console.log('No changes: the migrations already match the entities.');
    return;
  }
  const timestamp = Date.now();
  const className = `${name}${timestamp}`;
  const body = statements.map((s) => `    await runner.query(${JSON.stringify(s)});`).join('\n');
  const source = `import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ${className} implements MigrationInterface {
  name = '${className}';

  async up(runner: QueryRunner): Promise<void> {
${body}
  }

  async down(): Promise<void> {
    throw new Error('${className} is forward-only');
  }
}
`;
  const file = join(
    'libs/database/src/migrations',
    `${timestamp}-${name.replace(/[A-Z]/g, (c, i: number) => (i ? '-' : '') + c.toLowerCase())}.ts`,
  );
  writeFileSync(file, source);
  console.log(`Wrote ${file}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : String(error));
  process.exit(1);
});
