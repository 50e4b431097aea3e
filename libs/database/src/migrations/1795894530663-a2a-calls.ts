import type { MigrationInterface, QueryRunner } from 'typeorm';

export class A2aCalls1795894530663 implements MigrationInterface {
  name = 'A2aCalls1795894530663';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      'CREATE TABLE "a2a_calls" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "org_id" uuid NOT NULL, "caller" character varying(200) NOT NULL, "caller_workspace_id" uuid, "target_workspace_id" uuid NOT NULL, "method" character varying(100) NOT NULL, "outcome" character varying(32) NOT NULL, "http_status" smallint NOT NULL, "streamed" boolean NOT NULL DEFAULT false, "request_bytes" integer NOT NULL DEFAULT \'0\', "response_bytes" integer NOT NULL DEFAULT \'0\', "duration_ms" integer NOT NULL DEFAULT \'0\', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_db785c7bbdcf2a338567919740f" PRIMARY KEY ("id"))',
    );
    await runner.query(
      'CREATE INDEX "ix_a2a_calls_target_created" ON "a2a_calls"  ("target_workspace_id", "created_at") ',
    );
    await runner.query(
      'CREATE INDEX "ix_a2a_calls_org_created" ON "a2a_calls"  ("org_id", "created_at") ',
    );
  }

  async down(): Promise<void> {
    throw new Error('A2aCalls1795894530663 is forward-only');
  }
}
