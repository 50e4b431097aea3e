import type { MigrationInterface, QueryRunner } from 'typeorm';

export class MemoryDecisions1795894726628 implements MigrationInterface {
  name = 'MemoryDecisions1795894726628';

  // Nothing wrote memories before this release, so validating the check scans an empty table.
  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE "memories" ADD "decided_at" TIMESTAMP WITH TIME ZONE');
    await runner.query(
      'CREATE INDEX "ix_memories_author_scope" ON "memories"  ("author_workspace_id", "scope", "created_at") ',
    );
    await runner.query(
      'ALTER TABLE "memories" ADD CONSTRAINT "ck_memories_no_delimiter" CHECK (strpos(upper("content"), \'[MEMORY\') = 0)',
    );
  }

  async down(): Promise<void> {
    throw new Error('MemoryDecisions1795894726628 is forward-only');
  }
}
