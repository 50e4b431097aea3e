import type { MigrationInterface, QueryRunner } from 'typeorm';

export class OrgsAndIdempotency1795885622419 implements MigrationInterface {
  name = 'OrgsAndIdempotency1795885622419';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      'CREATE TABLE "idempotency_records" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "scope" character varying(200) NOT NULL, "key" character varying(200) NOT NULL, "request_hash" character(64) NOT NULL, "status" integer NOT NULL, "response" jsonb NOT NULL, "org_id" uuid, "secret_ciphertext" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_9ae4e93699362b0d4e3da3dd1c2" PRIMARY KEY ("id"))',
    );
    await runner.query(
      'CREATE UNIQUE INDEX "uq_idempotency_records_key" ON "idempotency_records"  ("scope", "key") ',
    );
    await runner.query('ALTER TABLE "orgs" ADD "created_by" character varying(100) NOT NULL');
  }

  async down(): Promise<void> {
    throw new Error('OrgsAndIdempotency1795885622419 is forward-only');
  }
}
